-- 001: subscribers, their status history and the suppression list (SQLite).
--
-- Conventions every later migration follows (PostgreSQL keeps the same
-- shapes, see ../postgres/001_subscribers.sql):
--   * Times are INTEGER unix MICROSECONDS in UTC (PostgreSQL: timestamptz,
--     which also holds microseconds, so both stores round-trip the same
--     precision). A zero time.Time is stored as NULL. Integers compare and
--     sort fast and need no parsing when millions of rows are streamed.
--   * Ids are INTEGER PRIMARY KEY (the rowid; PostgreSQL: bigint identity).
--   * Statuses are the lower-case strings of subscribers.Status.
--   * email keeps the address as normalised (local part in its own case,
--     domain lower-case ASCII); email_key = lower(email), computed in Go
--     because SQLite's NOCASE folds ASCII only. Uniqueness and lookups use
--     email_key.
--   * digests and tags are denormalised onto the row as comma-joined text
--     (digest names and tags never contain ',' or ';') so streaming a row
--     needs no join. subscriber_digests holds one row per (digest,
--     subscriber) and is what "active subscribers of digest D" filters on:
--       SELECT s.id FROM subscriber_digests d
--         JOIN subscribers s ON s.id = d.subscriber_id
--        WHERE d.digest = ? AND s.status = 'active' ORDER BY d.subscriber_id
--     Both are written together by the subscriber methods; nothing else
--     may change them.
--   * Forget DELETEs a subscriber row: a table referencing subscribers (id)
--     must say ON DELETE CASCADE or ON DELETE SET NULL.

CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL,
    email_key       TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    digests         TEXT    NOT NULL DEFAULT '',
    tags            TEXT    NOT NULL DEFAULT '',
    timezone        TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',
    consent_at      INTEGER,
    consent_ip      TEXT    NOT NULL DEFAULT '',
    consent_text    TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER
);

-- No index on status: filtering by status alone (Counts, an admin list) is
-- a scan either way, and every index costs an import of a million rows
-- another B-tree insert per row. The digest path filters through
-- subscriber_digests.

-- WITHOUT ROWID clusters the table on (digest, subscriber_id): the rows of
-- one digest are contiguous and already in id order.
CREATE TABLE subscriber_digests (
    digest        TEXT    NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    PRIMARY KEY (digest, subscriber_id)
) WITHOUT ROWID;

CREATE INDEX subscriber_digests_subscriber ON subscriber_digests (subscriber_id);

-- Append-only. Forget sets subscriber_id to NULL (the row is deleted), so
-- History still counts the person without knowing who they were; a
-- forgotten subscriber's last event has to_status 'forgotten'.
CREATE TABLE subscriber_events (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER REFERENCES subscribers (id) ON DELETE SET NULL,
    at            INTEGER NOT NULL,
    from_status   TEXT    NOT NULL DEFAULT '',
    to_status     TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX subscriber_events_subscriber ON subscriber_events (subscriber_id);
-- No index on at: History reads the events of status changes in one scan,
-- and an import writes one event per new subscriber.

-- Addresses erased by Forget: only the SHA-256 (hex) of the lower-cased
-- address is kept (subscribers.HashEmail), so an import never brings them
-- back. Subscribe (the person asking again) removes the row.
CREATE TABLE suppressions (
    email_hash TEXT    PRIMARY KEY,
    reason     TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
) WITHOUT ROWID;

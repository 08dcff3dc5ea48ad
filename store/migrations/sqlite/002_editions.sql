-- 002: digest editions, the articles each one carried, and one delivery row
-- per recipient (SQLite). Times are INTEGER unix microseconds in UTC, NULL for
-- a zero time, as in 001.

-- key is unique within a digest, so processes racing to create the edition
-- of one scheduled time insert it exactly once.
CREATE TABLE editions (
    id          INTEGER PRIMARY KEY,
    digest      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    cutoff      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    recipients  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (digest, key)
);

CREATE INDEX editions_digest_cutoff ON editions (digest, cutoff, id);

-- UNIQUE (digest, article_id) is the rule "an article is never in two
-- editions of the same digest", enforced by the database, not by a time
-- window; it also serves SentArticles.
CREATE TABLE edition_articles (
    edition_id INTEGER NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    digest     TEXT    NOT NULL,
    article_id TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (edition_id, position),
    UNIQUE (digest, article_id)
);

-- state is the lower-case subscribers.DeliveryState. next_attempt is NULL
-- while queued and set when retrying. leased_by/lease_until are the claim
-- of one sender; both NULL when nobody holds the row.
-- edition_id has no FOREIGN KEY on purpose: editions are never deleted, and
-- a checked key costs a lookup per inserted row, a large share of creating
-- an edition for a million recipients. subscriber_id keeps its key for the
-- cascade when a subscriber is forgotten.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    edition_id    INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    state         TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_reply    TEXT    NOT NULL DEFAULT '',
    next_attempt  INTEGER,
    leased_by     TEXT,
    lease_until   INTEGER,
    updated_at    INTEGER NOT NULL,
    UNIQUE (edition_id, subscriber_id)
);

-- The claim query walks (edition_id, state) in (next_attempt, id) order (the
-- rowid ends every SQLite index), so claiming a batch never sorts the
-- queue; Progress counts states from this index alone.
CREATE INDEX deliveries_claim ON deliveries (edition_id, state, next_attempt);

-- Only the rows currently leased (a few hundred at most): Progress counts
-- them as in flight without reading the whole queue. The PostgreSQL schema
-- leaves it out so that taking a lease stays a HOT update there.
CREATE INDEX deliveries_leased ON deliveries (edition_id, state) WHERE leased_by IS NOT NULL;

-- Deleting a subscriber (Forget) cascades here.
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id);

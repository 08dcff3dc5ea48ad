-- 006: a forgotten subscriber's deliveries stay, without the person.
--
-- Forgetting a subscriber deleted their delivery rows by ON DELETE CASCADE,
-- so `digest status` of an edition already sent changed afterwards (two
-- recipients, then one). The rows now keep their state and lose only the
-- link to the person: subscriber_id becomes NULL (ON DELETE SET NULL), and
-- Forget blanks their last reply and cancels what was still queued.
--
-- SQLite cannot change a column's constraint, so the table is rebuilt:
-- create the new table, copy, drop the old one, rename the new one, and
-- create the indexes again. No table references deliveries, so foreign
-- keys can stay on.

CREATE TABLE deliveries_new (
    id            INTEGER PRIMARY KEY,
    edition_id    INTEGER NOT NULL,
    subscriber_id INTEGER REFERENCES subscribers (id) ON DELETE SET NULL,
    state         TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_reply    TEXT    NOT NULL DEFAULT '',
    next_attempt  INTEGER,
    leased_by     TEXT,
    lease_until   INTEGER,
    updated_at    INTEGER NOT NULL,
    UNIQUE (edition_id, subscriber_id)
);

INSERT INTO deliveries_new (id, edition_id, subscriber_id, state, attempts, last_reply,
    next_attempt, leased_by, lease_until, updated_at)
SELECT id, edition_id, subscriber_id, state, attempts, last_reply,
    next_attempt, leased_by, lease_until, updated_at
  FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

-- As in 002: the claim walk, the leased rows, and the SET NULL of a
-- forgotten subscriber.
CREATE INDEX deliveries_claim ON deliveries (edition_id, state, next_attempt);
CREATE INDEX deliveries_leased ON deliveries (edition_id, state) WHERE leased_by IS NOT NULL;
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id);

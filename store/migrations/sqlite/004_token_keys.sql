-- briefcast: foreign_keys off
-- 003: subscriber ids that are never handed out twice, and a random token
-- key per subscriber (SQLite).
--
-- A link token names a subscriber by id. With a plain INTEGER PRIMARY KEY,
-- SQLite gives a new row the largest id + 1, so after the newest subscriber
-- is forgotten the next sign-up got their id, and the forgotten person's
-- links acted on the stranger. AUTOINCREMENT never hands out an id twice;
-- token_key (16 random bytes, mixed into every token's MAC) ties a token
-- to the one row it was made for, whatever its id. Existing rows get a
-- fresh key here, so links mailed before this migration stop working.
--
-- SQLite cannot add AUTOINCREMENT to a column, so the table is rebuilt as
-- its documentation describes: create the new table, copy, drop the old
-- one, rename the new one. The migration runs with foreign keys off (the
-- first line above) so dropping the old table neither cascades to nor
-- nulls the rows of subscriber_digests, subscriber_events and deliveries,
-- whose REFERENCES subscribers (id) then name the new table; the runner
-- runs PRAGMA foreign_key_check before it commits.

CREATE TABLE subscribers_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
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
    unsubscribed_at INTEGER,
    -- randomblob draws from SQLite's ChaCha20 generator, seeded by the OS.
    -- The stores write a key from crypto/rand when they create a
    -- subscriber; the default serves imports and the rows copied below.
    token_key       BLOB    NOT NULL DEFAULT (randomblob(16)) CHECK (length(token_key) >= 16)
);

INSERT INTO subscribers_new (id, email, email_key, name, status, digests, tags, timezone, source,
    consent_at, consent_ip, consent_text, created_at, updated_at, confirmed_at, unsubscribed_at)
SELECT id, email, email_key, name, status, digests, tags, timezone, source,
    consent_at, consent_ip, consent_text, created_at, updated_at, confirmed_at, unsubscribed_at
  FROM subscribers;

-- The ids of forgotten subscribers above the largest one left are not on
-- record, but every subscriber ever inserted has exactly one creation event
-- (from_status ''), kept when they are forgotten, and an id was never more
-- than one above the largest before it: so no id ever handed out exceeds
-- the number of creation events. Numbering continues after that.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'subscribers_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'subscribers_new');
UPDATE sqlite_sequence
   SET seq = max(seq,
                 (SELECT COALESCE(MAX(id), 0) FROM subscribers),
                 (SELECT COUNT(*) FROM subscriber_events WHERE from_status = ''))
 WHERE name = 'subscribers_new';

DROP TABLE subscribers;
ALTER TABLE subscribers_new RENAME TO subscribers;

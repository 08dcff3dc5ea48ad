-- 005: bounce reports and complaints (SQLite). Times are INTEGER unix
-- microseconds in UTC, as in 001.
--
-- One row per report taken. event_key is the SHA-256 (hex) of the report's
-- key (a provider's event id, or a bounce message's return path, recipient
-- and kind): the same report coming twice inserts nothing. No address is
-- kept: a report about nobody on the list keeps subscriber_id NULL, and a
-- forgotten subscriber's reports lose theirs. edition_id has no FOREIGN
-- KEY, as in deliveries: editions are never deleted.
CREATE TABLE bounces (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER REFERENCES subscribers (id) ON DELETE SET NULL,
    edition_id    INTEGER,
    kind          TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT '',
    event_key     TEXT    NOT NULL UNIQUE,
    at            INTEGER NOT NULL
);

-- The soft-bounce count of one subscriber, and Forget's SET NULL.
CREATE INDEX bounces_subscriber ON bounces (subscriber_id, kind);
-- The per-edition counts of status pages and metrics.
CREATE INDEX bounces_edition ON bounces (edition_id, kind);

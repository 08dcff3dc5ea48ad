-- 007: waves of local-time digests (send_at = "subscriber").
--
-- A wave is an edition for the subscribers whose own zone reaches the
-- schedule's wall time at its cut-off; editions.zones lists those zones
-- (space-separated IANA names, "-" for the subscribers without a zone),
-- '' for an edition sent to everyone at once.
--
-- The same article goes out in many waves of one digest (Tokyo at 07:00,
-- then New York at 07:00), so "an article is never in two editions of a
-- digest" now holds only for editions sent to everyone (wave = 0); a wave
-- guards against repeats per recipient instead. SQLite cannot drop a
-- table constraint, so edition_articles is rebuilt. Nothing references it.
ALTER TABLE editions ADD COLUMN zones TEXT NOT NULL DEFAULT '';

CREATE TABLE edition_articles_new (
    edition_id INTEGER NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    digest     TEXT    NOT NULL,
    article_id TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    wave       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (edition_id, position)
);

INSERT INTO edition_articles_new (edition_id, digest, article_id, position)
SELECT edition_id, digest, article_id, position FROM edition_articles;

DROP TABLE edition_articles;
ALTER TABLE edition_articles_new RENAME TO edition_articles;

CREATE UNIQUE INDEX edition_articles_once ON edition_articles (digest, article_id) WHERE wave = 0;
-- SentArticles and a recipient's earlier articles read by (digest, article).
CREATE INDEX edition_articles_digest ON edition_articles (digest, article_id);

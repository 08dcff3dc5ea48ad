-- 008: waves of local-time digests (send_at = "subscriber"); see
-- ../sqlite/007_waves.sql. The unique (digest, article_id) now holds only
-- for editions sent to everyone at once (wave = 0).
ALTER TABLE editions ADD COLUMN zones text NOT NULL DEFAULT '';
ALTER TABLE edition_articles ADD COLUMN wave smallint NOT NULL DEFAULT 0;
ALTER TABLE edition_articles DROP CONSTRAINT edition_articles_digest_article_id_key;
CREATE UNIQUE INDEX edition_articles_once ON edition_articles (digest, article_id) WHERE wave = 0;
CREATE INDEX edition_articles_digest ON edition_articles (digest, article_id);

-- 007: a forgotten subscriber's deliveries stay, without the person.
--
-- Forgetting a subscriber deleted their delivery rows by ON DELETE CASCADE,
-- so `digest status` of an edition already sent changed afterwards (two
-- recipients, then one). The rows now keep their state and lose only the
-- link to the person: subscriber_id becomes NULL (ON DELETE SET NULL), and
-- Forget blanks their last reply and cancels what was still queued. Two
-- NULLs are distinct, so UNIQUE (subscriber_id, edition_id) still holds.
ALTER TABLE deliveries ALTER COLUMN subscriber_id DROP NOT NULL;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_subscriber_id_fkey;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_subscriber_id_fkey
    FOREIGN KEY (subscriber_id) REFERENCES subscribers (id) ON DELETE SET NULL;

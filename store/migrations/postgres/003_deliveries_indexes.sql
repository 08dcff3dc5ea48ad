-- 003: one index fewer on deliveries. Every result recorded changes a
-- delivery's state, which is in deliveries_claim, so the update cannot be
-- HOT and adds an entry to every index of the table; creating an edition
-- adds one per index and recipient. The uniqueness of (edition,
-- subscriber) now lives in an index led by subscriber_id, which also
-- serves the ON DELETE CASCADE of a forgotten subscriber, so the separate
-- deliveries_subscriber index goes. Nothing looks deliveries up by
-- (edition_id, subscriber_id); by edition, the claim index serves.
ALTER TABLE deliveries ADD CONSTRAINT deliveries_subscriber_edition_key UNIQUE (subscriber_id, edition_id);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_edition_id_subscriber_id_key;
DROP INDEX deliveries_subscriber;

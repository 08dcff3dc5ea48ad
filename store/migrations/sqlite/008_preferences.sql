-- 008: a subscriber's depth per digest and a pause.
--
-- depths holds "digest=depth" pairs, comma-joined (subscribers.JoinDepths);
-- a digest not in it gets its own default depth. It sits on the row, like
-- digests and tags, so the delivery claim reads it without a join.
-- paused_until (unix microseconds, NULL when not paused): editions cut off
-- before it leave the subscriber out; mail resumes on its own afterwards.
ALTER TABLE subscribers ADD COLUMN depths TEXT NOT NULL DEFAULT '';
ALTER TABLE subscribers ADD COLUMN paused_until INTEGER;

-- 009: a subscriber's depth per digest and a pause; see
-- ../sqlite/008_preferences.sql.
ALTER TABLE subscribers ADD COLUMN depths text NOT NULL DEFAULT '';
ALTER TABLE subscribers ADD COLUMN paused_until timestamptz;

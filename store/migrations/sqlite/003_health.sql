-- 003: a single-row table for the write probe of /healthz.
-- health_probe holds one row that /healthz rewrites (at most every couple of
-- seconds) to prove the database still takes writes: a read-only file or a
-- full disk fails the write where a ping would still succeed.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL -- unix microseconds
);

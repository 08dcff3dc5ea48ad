-- 004: a single-row table for the write probe of /healthz.
-- health_probe holds one row that /healthz rewrites (at most every couple of
-- seconds per instance) to prove the database still takes writes: a server
-- in read-only mode (a standby, default_transaction_read_only) or a full
-- disk fails the write where a ping would still succeed.
CREATE TABLE health_probe (
    id         integer PRIMARY KEY CHECK (id = 1),
    checked_at timestamptz NOT NULL
);

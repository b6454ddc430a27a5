-- An event no handler takes is 'unhandled', not 'done' (kept for replay once a handler exists,
-- pruned by retention like 'done', through its own partial index as 'done' has events_done).
ALTER TABLE events DROP CONSTRAINT events_status_check;
ALTER TABLE events ADD CONSTRAINT events_status_check
    CHECK (status IN ('queued', 'processing', 'done', 'retrying', 'dead', 'unhandled'));
CREATE INDEX events_unhandled ON events (received_at) WHERE status = 'unhandled';

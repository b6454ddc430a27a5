-- Paused endpoints: while an endpoint has a row here (and expires_at is NULL or in the future),
-- its deliveries are still verified, stored and acknowledged, but no worker leases its events
-- (a paused route answers 503). Resume deletes the row. A handful of rows at most.
CREATE TABLE endpoint_pauses (
    endpoint    TEXT PRIMARY KEY,
    paused_at   REAL NOT NULL,
    expires_at  REAL,
    paused_by   TEXT
);

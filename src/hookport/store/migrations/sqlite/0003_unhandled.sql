-- An event no handler takes is 'unhandled', not 'done' (kept for replay once a handler exists,
-- pruned by retention like 'done'). SQLite cannot alter a CHECK constraint, so the table is
-- rebuilt with the same columns, rows (seq kept: arrival order) and indexes.

CREATE TABLE events_v3 (
    seq               INTEGER PRIMARY KEY,
    id                TEXT    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL CHECK (kind IN ('receiver', 'route')),
    plugin            TEXT    NOT NULL,
    endpoint          TEXT    NOT NULL,
    type              TEXT,
    delivery_id       TEXT,
    received_at       REAL    NOT NULL,
    method            TEXT    NOT NULL,
    path              TEXT    NOT NULL,
    query_string      TEXT    NOT NULL DEFAULT '',
    headers           TEXT    NOT NULL DEFAULT '[]',
    body              BLOB    NOT NULL,
    params            TEXT    NOT NULL DEFAULT '{}',
    sender            TEXT,
    source_ip         TEXT,
    status            TEXT    NOT NULL
        CHECK (status IN ('queued', 'processing', 'done', 'retrying', 'dead', 'unhandled')),
    attempt           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   REAL,
    lease_owner       TEXT,
    lease_expires_at  REAL,
    last_error        TEXT,
    done_handlers     TEXT    NOT NULL DEFAULT '[]',
    response_status   INTEGER,
    response_headers  TEXT,
    response_body     BLOB
);

INSERT INTO events_v3 (
    seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path, query_string,
    headers, body, params, sender, source_ip, status, attempt, next_attempt_at, lease_owner,
    lease_expires_at, last_error, done_handlers, response_status, response_headers, response_body
)
SELECT
    seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path, query_string,
    headers, body, params, sender, source_ip, status, attempt, next_attempt_at, lease_owner,
    lease_expires_at, last_error, done_handlers, response_status, response_headers, response_body
FROM events;

DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;

CREATE UNIQUE INDEX events_delivery ON events (endpoint, delivery_id)
    WHERE delivery_id IS NOT NULL;
CREATE INDEX events_due ON events (status, next_attempt_at);
CREATE INDEX events_status_received ON events (status, received_at);
CREATE INDEX events_pending ON events (seq)
    WHERE status IN ('queued', 'processing', 'retrying');
CREATE INDEX events_pending_endpoint ON events (endpoint, seq)
    WHERE status IN ('queued', 'processing', 'retrying');

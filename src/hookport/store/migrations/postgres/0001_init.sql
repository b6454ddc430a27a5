-- hookport schema, version 1 (PostgreSQL).
-- Times are Unix seconds (double precision), as on SQLite, so both backends share one model.
-- seq is arrival order, used for FIFO claiming and per-endpoint ordering.

CREATE TABLE events (
    id                text             PRIMARY KEY,
    seq               bigint           GENERATED ALWAYS AS IDENTITY UNIQUE,
    kind              text             NOT NULL CHECK (kind IN ('receiver', 'route')),
    plugin            text             NOT NULL,
    endpoint          text             NOT NULL,
    type              text,
    delivery_id       text,
    received_at       double precision NOT NULL,
    method            text             NOT NULL,
    path              text             NOT NULL,
    query_string      text             NOT NULL DEFAULT '',
    headers           jsonb            NOT NULL DEFAULT '[]',
    body              bytea            NOT NULL,
    params            jsonb            NOT NULL DEFAULT '{}',
    sender            text,
    source_ip         text,
    status            text             NOT NULL
        CHECK (status IN ('queued', 'processing', 'done', 'retrying', 'dead')),
    attempt           integer          NOT NULL DEFAULT 0,
    next_attempt_at   double precision,
    lease_owner       text,
    lease_expires_at  double precision,
    last_error        text,
    done_handlers     jsonb            NOT NULL DEFAULT '[]',
    response_status   integer,
    response_headers  jsonb,
    response_body     bytea
);

-- Dedupe: one delivery id per endpoint.
CREATE UNIQUE INDEX events_delivery ON events (endpoint, delivery_id)
    WHERE delivery_id IS NOT NULL;

-- Claiming due work, next_due, counts and pruning by status.
CREATE INDEX events_due ON events (status, next_attempt_at);
CREATE INDEX events_status_received ON events (status, received_at);

-- Claiming walks unfinished events in arrival order, overall and per endpoint (ordering, caps).
CREATE INDEX events_pending ON events (seq)
    WHERE status IN ('queued', 'processing', 'retrying');
CREATE INDEX events_pending_endpoint ON events (endpoint, seq)
    WHERE status IN ('queued', 'processing', 'retrying');

CREATE TABLE attempts (
    id           bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     text             NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    attempt      integer          NOT NULL,
    handler      text             NOT NULL,
    ok           boolean          NOT NULL,
    started_at   double precision NOT NULL,
    finished_at  double precision NOT NULL,
    error        text,
    traceback    text
);

CREATE INDEX attempts_event ON attempts (event_id, attempt);

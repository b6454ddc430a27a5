-- index attempts_event on attempts
CREATE INDEX attempts_event ON attempts (event_id, attempt);

-- index chat_commands_at on chat_commands
CREATE INDEX chat_commands_at ON chat_commands (at);

-- index events_delivery on events
CREATE UNIQUE INDEX events_delivery ON events (endpoint, delivery_id)
    WHERE delivery_id IS NOT NULL;

-- index events_due on events
CREATE INDEX events_due ON events (status, next_attempt_at);

-- index events_pending on events
CREATE INDEX events_pending ON events (seq)
    WHERE status IN ('queued', 'processing', 'retrying');

-- index events_pending_endpoint on events
CREATE INDEX events_pending_endpoint ON events (endpoint, seq)
    WHERE status IN ('queued', 'processing', 'retrying');

-- index events_status_received on events
CREATE INDEX events_status_received ON events (status, received_at);

-- index rejections_at on rejections
CREATE INDEX rejections_at ON rejections (at);

-- table attempts on attempts
CREATE TABLE attempts (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    handler      TEXT    NOT NULL,
    ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
    started_at   REAL    NOT NULL,
    finished_at  REAL    NOT NULL,
    error        TEXT,
    traceback    TEXT
, replay INTEGER NOT NULL DEFAULT 0);

-- table chat_commands on chat_commands
CREATE TABLE chat_commands (
    id        INTEGER PRIMARY KEY,
    at        REAL    NOT NULL,
    platform  TEXT    NOT NULL,
    user      TEXT    NOT NULL,
    channel   TEXT    NOT NULL,
    command   TEXT    NOT NULL,
    result    TEXT    NOT NULL,
    summary   TEXT    NOT NULL DEFAULT ''
);

-- table endpoint_pauses on endpoint_pauses
CREATE TABLE endpoint_pauses (
    endpoint    TEXT PRIMARY KEY,
    paused_at   REAL NOT NULL,
    expires_at  REAL,
    paused_by   TEXT
);

-- table event_bodies on event_bodies
CREATE TABLE event_bodies (
    seq   INTEGER PRIMARY KEY,  -- events.seq
    body  BLOB    NOT NULL
);

-- table events on events
CREATE TABLE "events" (
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
, replays INTEGER NOT NULL DEFAULT 0, trace_context TEXT);

-- table hookport_migrations on hookport_migrations
CREATE TABLE hookport_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  REAL NOT NULL
);

-- table rejections on rejections
CREATE TABLE rejections (
    id            INTEGER PRIMARY KEY,
    at            REAL    NOT NULL,
    method        TEXT    NOT NULL,
    path          TEXT    NOT NULL,
    endpoint      TEXT,
    status        INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    source_ip     TEXT,
    header_names  TEXT    NOT NULL DEFAULT '[]',
    body_size     INTEGER NOT NULL DEFAULT 0
);

-- trigger events_delete_body on events
CREATE TRIGGER events_delete_body AFTER DELETE ON events
BEGIN
    DELETE FROM event_bodies WHERE seq = old.seq;
END;


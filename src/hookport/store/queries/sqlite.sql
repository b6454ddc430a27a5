-- hookport queries for SQLite: one "-- name: <name>" block per query, loaded by _queries.py.
-- Times are Unix seconds. Lists of ids and keys are passed as JSON text (json_each).

-- name: migrations_table_exists
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hookport_migrations';

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS hookport_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  REAL NOT NULL
);

-- name: applied_migrations
SELECT version FROM hookport_migrations ORDER BY version;

-- name: record_migration
INSERT INTO hookport_migrations (version, name, applied_at) VALUES (?, ?, ?);

-- name: ping
SELECT 1;

-- name: find_duplicates
-- :keys is a JSON list of [endpoint, delivery_id] pairs.
SELECT e.endpoint, e.delivery_id, e.id
FROM json_each(:keys) AS k
JOIN events AS e
  ON e.endpoint = json_extract(k.value, '$[0]')
 AND e.delivery_id = json_extract(k.value, '$[1]');

-- name: insert_event
INSERT INTO events (
    seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path, query_string,
    headers, params, sender, source_ip, status, next_attempt_at,
    response_status, response_headers, response_body, trace_context
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);  -- _sqlite_ops.insert_batch

-- name: insert_body
-- The body of the event appended with the same seq (its own table: 0008_event_bodies.sql).
INSERT INTO event_bodies (seq, body) VALUES (?, ?);

-- name: last_seq
-- The highest seq, read under the append's write lock: a batch numbers its rows after it, as
-- SQLite itself would (INTEGER PRIMARY KEY without AUTOINCREMENT), so each body gets its seq.
SELECT coalesce(max(seq), 0) FROM events;

-- Leasing. Due: queued; retrying past next_attempt_at; processing with an expired lease.
-- sqlite.py runs these in one BEGIN IMMEDIATE transaction: live leases per endpoint, the
-- candidates of each capped endpoint, the uncapped candidates, then one claiming UPDATE.

-- name: lease_paused
-- Endpoints paused now: their events stay where they are (read in the lease's transaction).
SELECT endpoint FROM endpoint_pauses WHERE expires_at IS NULL OR expires_at > :now;

-- name: lease_live
SELECT endpoint, count(*) AS n FROM events
WHERE status = 'processing' AND lease_expires_at > :now
GROUP BY endpoint;

-- name: lease_first_pending
-- Ordered endpoints (cap 1): only the oldest unfinished event may run, and only when due.
SELECT seq,
       (status = 'queued'
        OR (status = 'retrying' AND next_attempt_at <= :now)
        OR (status = 'processing' AND lease_expires_at <= :now)) AS due
FROM events
WHERE endpoint = :endpoint AND status IN ('queued', 'processing', 'retrying')
ORDER BY seq
LIMIT 1;

-- name: lease_capped
-- The due events of one endpoint, oldest first, from events_pending_endpoint: for capped
-- endpoints, and for every endpoint while some are paused (so a paused endpoint's backlog is
-- never walked, as lease_free would walk it in arrival order to skip it).
SELECT seq FROM events
WHERE endpoint = :endpoint
  AND status IN ('queued', 'processing', 'retrying')
  AND (status = 'queued'
       OR (status = 'retrying' AND next_attempt_at <= :now)
       OR (status = 'processing' AND lease_expires_at <= :now))
ORDER BY seq
LIMIT :limit;

-- name: lease_free
-- Uncapped endpoints: walk unfinished events in arrival order and stop at :limit. :excluded
-- is the capped endpoints (claimed above) and, when no endpoints are named, the paused ones.
SELECT seq FROM events INDEXED BY events_pending
WHERE status IN ('queued', 'processing', 'retrying')
  AND (status = 'queued'
       OR (status = 'retrying' AND next_attempt_at <= :now)
       OR (status = 'processing' AND lease_expires_at <= :now))
  AND (:endpoints IS NULL OR endpoint IN (SELECT value FROM json_each(:endpoints)))
  AND endpoint NOT IN (SELECT value FROM json_each(:excluded))
ORDER BY seq
LIMIT :limit;

-- name: lease_claim
-- An event claimed while 'processing' had its lease expire: last_error says so (:expired,
-- store/base.py LEASE_EXPIRED), which the worker counts (hookport_lease_expiries_total).
UPDATE events
SET status = 'processing',
    attempt = attempt + 1,
    lease_owner = :owner,
    lease_expires_at = :until,
    last_error = CASE WHEN status = 'processing' THEN :expired ELSE last_error END
WHERE seq IN (SELECT value FROM json_each(:seqs))
RETURNING seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path,
    query_string, headers, (SELECT body FROM event_bodies b WHERE b.seq = events.seq) AS body,
    params, sender, source_ip, status, attempt, next_attempt_at, last_error, done_handlers,
    response_status, response_headers, response_body, trace_context;

-- name: renew
UPDATE events SET lease_expires_at = :until
WHERE id IN (SELECT value FROM json_each(:ids))
  AND lease_owner = :owner AND status = 'processing';

-- name: lookup_lease
SELECT attempt, replays, done_handlers FROM events
WHERE id = :id AND lease_owner = :owner AND status = 'processing';

-- name: finish
UPDATE events
SET status = :status,
    next_attempt_at = :next_attempt_at,
    last_error = :error,
    done_handlers = :done_handlers,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id = :id;

-- name: insert_attempt
INSERT INTO attempts (
    event_id, attempt, replay, handler, ok, started_at, finished_at, error, traceback
)
VALUES (
    :event_id, :attempt, :replay, :handler, :ok, :started_at, :finished_at, :error, :traceback
);

-- name: release
-- The interrupted try does not count: back to queued (never tried) or retrying (due now).
UPDATE events
SET status = CASE WHEN attempt > 1 THEN 'retrying' ELSE 'queued' END,
    attempt = max(attempt - 1, 0),
    next_attempt_at = coalesce(next_attempt_at, received_at),
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids))
  AND lease_owner = :owner AND status = 'processing';

-- name: get_event
SELECT seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path,
    query_string, headers, (SELECT body FROM event_bodies b WHERE b.seq = events.seq) AS body,
    params, sender, source_ip, status, attempt, next_attempt_at, last_error, done_handlers,
    response_status, response_headers, response_body, replays, trace_context
FROM events WHERE id = :id;

-- name: get_attempts
SELECT attempt, replay, handler, ok, started_at, finished_at, error, traceback
FROM attempts WHERE event_id = :id ORDER BY id;

-- name: list_events
-- Metadata only: bodies (up to 25 MB each) stay on disk until one event is shown (get_event).
-- Newest first by id: ids begin with the arrival time in milliseconds, so id order is arrival
-- order and the primary key's index serves the keyset (:before_id) without a sort. Substring
-- filters are case-insensitive; :prefix matches the start of the event id or the delivery id.
SELECT seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path,
    query_string, '[]' AS headers, X'' AS body, params, sender, source_ip, status, attempt,
    next_attempt_at, last_error, done_handlers, response_status, '[]' AS response_headers,
    NULL AS response_body, replays
FROM events
WHERE (:endpoint IS NULL OR endpoint = :endpoint)
  AND (:status IS NULL OR status = :status)
  AND (:type IS NULL OR type = :type)
  AND (:since IS NULL OR received_at >= :since)
  AND (:until IS NULL OR received_at < :until)
  AND (:endpoint_contains IS NULL OR instr(lower(endpoint), lower(:endpoint_contains)) > 0)
  AND (:type_contains IS NULL OR instr(lower(coalesce(type, '')), lower(:type_contains)) > 0)
  AND (:prefix IS NULL OR substr(id, 1, length(:prefix)) = lower(:prefix)
       OR substr(delivery_id, 1, length(:prefix)) = :prefix)
  AND (:before_id IS NULL OR id < :before_id)
ORDER BY id DESC
LIMIT :limit;

-- name: count_events
-- How many events list_events would page through (the keyset and limit aside), counting at
-- most :cap rows: a total costs a bounded walk whatever the table holds.
SELECT count(*) FROM (
    SELECT 1 FROM events
    WHERE (:endpoint IS NULL OR endpoint = :endpoint)
      AND (:status IS NULL OR status = :status)
      AND (:type IS NULL OR type = :type)
      AND (:since IS NULL OR received_at >= :since)
      AND (:until IS NULL OR received_at < :until)
      AND (:endpoint_contains IS NULL OR instr(lower(endpoint), lower(:endpoint_contains)) > 0)
      AND (:type_contains IS NULL OR instr(lower(coalesce(type, '')), lower(:type_contains)) > 0)
      AND (:prefix IS NULL OR substr(id, 1, length(:prefix)) = lower(:prefix)
           OR substr(delivery_id, 1, length(:prefix)) = :prefix)
    LIMIT :cap
);

-- name: arrivals
-- Per endpoint, events received since :since and since :recent (:recent >= :since). :low is
-- the id of the earliest of them at most (ids start with the arrival time in milliseconds), so
-- the primary key's index reads only that window, whatever the table holds.
SELECT endpoint, count(*) AS n, sum(received_at >= :recent) AS recent
FROM events
WHERE id >= :low AND received_at >= :since
GROUP BY endpoint;

-- name: delete_events
-- Events a worker holds (processing) are left: their attempt finishes first.
DELETE FROM events
WHERE id IN (SELECT value FROM json_each(:ids)) AND status != 'processing'
RETURNING id;

-- name: delete_attempts
DELETE FROM attempts WHERE event_id IN (SELECT value FROM json_each(:ids));

-- name: requeue
-- Replay: a fresh round, numbered (replays). Route events are records of answered requests,
-- not work.
UPDATE events
SET status = 'queued',
    attempt = 0,
    replays = replays + 1,
    done_handlers = '[]',
    next_attempt_at = :now,
    last_error = NULL,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND kind = 'receiver'
RETURNING id;

-- name: ids_with_status
SELECT id FROM events WHERE status = :status ORDER BY seq LIMIT :limit;

-- name: prune_select
SELECT id FROM events
WHERE status IN ('done', 'unhandled') AND received_at < :before
ORDER BY received_at
LIMIT :limit;

-- name: prune_attempts
DELETE FROM attempts WHERE event_id IN (SELECT value FROM json_each(:ids));

-- name: prune_events
DELETE FROM events WHERE id IN (SELECT value FROM json_each(:ids))
  AND status IN ('done', 'unhandled');

-- name: counts
SELECT status, count(*) AS n FROM events GROUP BY status;

-- name: endpoint_counts
-- The metrics' one grouped query (cached by the scrape): events per endpoint and status, and
-- when the oldest of them that is due now became due.
SELECT endpoint, status, count(*) AS n,
       min(CASE
           WHEN status = 'queued' THEN coalesce(next_attempt_at, received_at)
           WHEN status = 'retrying' AND next_attempt_at <= :now THEN next_attempt_at
           WHEN status = 'processing' AND lease_expires_at <= :now THEN lease_expires_at
       END) AS due_since
FROM events
GROUP BY endpoint, status;

-- name: next_due
SELECT min(t) FROM (
    SELECT :now AS t WHERE EXISTS (SELECT 1 FROM events WHERE status = 'queued')
    UNION ALL
    SELECT min(next_attempt_at) FROM events WHERE status = 'retrying'
    UNION ALL
    SELECT min(lease_expires_at) FROM events WHERE status = 'processing'
);

-- Pauses (endpoint_pauses: a handful of rows).

-- name: pause
INSERT INTO endpoint_pauses (endpoint, paused_at, expires_at, paused_by)
VALUES (:endpoint, :now, :expires_at, :by)
ON CONFLICT (endpoint) DO UPDATE
SET paused_at = excluded.paused_at, expires_at = excluded.expires_at,
    paused_by = excluded.paused_by;

-- name: resume
DELETE FROM endpoint_pauses WHERE endpoint = :endpoint RETURNING expires_at;

-- name: pauses
SELECT endpoint, paused_at, expires_at, paused_by FROM endpoint_pauses
WHERE expires_at IS NULL OR expires_at > :now
ORDER BY endpoint;

-- Rejected deliveries (rejections: metadata only, bounded by count and age).

-- name: insert_rejection
INSERT INTO rejections (at, method, path, endpoint, status, reason, source_ip, header_names,
                        body_size)
VALUES (:at, :method, :path, :endpoint, :status, :reason, :source_ip, :header_names, :body_size);

-- name: prune_rejections
DELETE FROM rejections
WHERE at < :before
   OR id <= (SELECT max(id) FROM rejections) - :keep;

-- name: list_rejections
-- Newest first by id (the primary key: no index beyond it is needed, the table is bounded by
-- [store] rejected_keep); :before_id is the keyset cursor.
SELECT id, at, method, path, endpoint, status, reason, source_ip, header_names, body_size
FROM rejections
WHERE (:since IS NULL OR at >= :since)
  AND (:until IS NULL OR at < :until)
  AND (:endpoint IS NULL OR endpoint = :endpoint)
  AND (NOT :no_endpoint OR endpoint IS NULL)
  AND (:status IS NULL OR status = :status)
  AND (:before_id IS NULL OR id < :before_id)
ORDER BY id DESC
LIMIT :limit;

-- name: count_rejections
-- How many rejections list_rejections would page through (the keyset and limit aside), counting
-- at most :cap rows.
SELECT count(*) FROM (
    SELECT 1 FROM rejections
    WHERE (:since IS NULL OR at >= :since)
      AND (:until IS NULL OR at < :until)
      AND (:endpoint IS NULL OR endpoint = :endpoint)
      AND (NOT :no_endpoint OR endpoint IS NULL)
      AND (:status IS NULL OR status = :status)
    LIMIT :cap
);

-- Chat commands (chat_commands: the audit of hookport.chatops, bounded by count and age).

-- name: insert_chat_command
INSERT INTO chat_commands (at, platform, user, channel, command, result, summary)
VALUES (:at, :platform, :user, :channel, :command, :result, :summary);

-- name: prune_chat_commands
DELETE FROM chat_commands
WHERE at < :before
   OR id <= (SELECT max(id) FROM chat_commands) - :keep;

-- name: list_chat_commands
SELECT at, platform, user, channel, command, result, summary
FROM chat_commands
WHERE (:since IS NULL OR at >= :since)
  AND (:platform IS NULL OR platform = :platform)
ORDER BY id DESC
LIMIT :limit;

-- hookport queries for PostgreSQL: one "-- name: <name>" block per query, loaded by _queries.py.
-- Times are Unix seconds (double precision). JSON columns are jsonb, passed as JSON text.

-- name: migrations_table_exists
SELECT to_regclass('hookport_migrations') IS NOT NULL;

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS hookport_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  double precision NOT NULL
);

-- name: applied_migrations
SELECT version FROM hookport_migrations ORDER BY version;

-- name: record_migration
INSERT INTO hookport_migrations (version, name, applied_at) VALUES ($1, $2, $3);

-- name: lock_migrations
SELECT pg_advisory_lock($1);

-- name: unlock_migrations
SELECT pg_advisory_unlock($1);

-- name: ping
SELECT 1;

-- name: autovacuum_on
-- A queue table lives on vacuum: open() warns when it is off for the whole server.
SELECT current_setting('autovacuum')::boolean;

-- name: notify
SELECT pg_notify('hookport_events', '');

-- name: insert_events
-- One statement per batch, run as its own transaction (no BEGIN/COMMIT round trips); arrays
-- are columns, in arrival order. The bodies come as one concatenated bytea ($21) with their
-- lengths ($22), cut apart here. $23: also NOTIFY the workers (sent at commit). Returns the
-- ids inserted (and a NULL row for the notification); duplicates are skipped and looked up
-- afterwards (find_duplicates).
WITH inserted AS (
INSERT INTO events (
    id, kind, plugin, endpoint, type, delivery_id, received_at, method, path, query_string,
    headers, body, params, sender, source_ip, status, next_attempt_at,
    response_status, response_headers, response_body, trace_context
)
SELECT u.id, u.kind, u.plugin, u.endpoint, u.type, u.delivery_id, u.received_at, u.method,
       u.path, u.query_string, u.headers::jsonb,
       substring($21::bytea FROM (sum(u.body_len) OVER w - u.body_len + 1)::integer
                 FOR u.body_len::integer),
       u.params::jsonb, u.sender, u.source_ip, u.status, u.next_attempt_at, u.response_status,
       u.response_headers::jsonb, u.response_body, u.trace_context
FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
    $7::double precision[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::text[], $14::text[], $15::text[], $16::double precision[], $17::integer[],
    $18::text[], $19::bytea[], $20::text[], $22::bigint[]
) WITH ORDINALITY AS u (
    id, kind, plugin, endpoint, type, delivery_id, received_at, method, path, query_string,
    headers, params, sender, source_ip, status, next_attempt_at, response_status,
    response_headers, response_body, trace_context, body_len, ord
)
WINDOW w AS (ORDER BY u.ord)
ORDER BY u.ord
ON CONFLICT (endpoint, delivery_id) WHERE delivery_id IS NOT NULL DO NOTHING
RETURNING id
)
SELECT id FROM inserted
UNION ALL
SELECT NULL FROM (SELECT pg_notify('hookport_events', '')) AS n WHERE $23::boolean;

-- name: find_duplicates
SELECT e.endpoint, e.delivery_id, e.id
FROM unnest($1::text[], $2::text[]) AS k (endpoint, delivery_id)
JOIN events AS e ON e.endpoint = k.endpoint AND e.delivery_id = k.delivery_id;

-- Leasing. Due: queued; retrying past next_attempt_at; processing with an expired lease.
-- postgres.py runs these in one transaction. Capped endpoints are claimed under a transaction
-- advisory lock (caps count leases across workers, which SKIP LOCKED alone cannot enforce);
-- the rest are claimed with FOR UPDATE SKIP LOCKED, so workers never wait for each other.

-- name: lease_lock_caps
SELECT pg_advisory_xact_lock($1);

-- Arrival order across concurrent commits. seq is drawn when a row is inserted, not when it
-- commits, so with several batches in flight (or several ingest nodes) a later event can be
-- visible before an earlier one. Appends of ordered events hold order_barrier_shared from
-- before their insert until commit; a claim for an ordered endpoint takes order_barrier, which
-- waits for those commits, and then looks with a fresh snapshot (READ COMMITTED).

-- name: order_barrier_shared
SELECT pg_advisory_xact_lock_shared($1);

-- name: order_barrier
SELECT pg_advisory_xact_lock($1);

-- name: lease_paused
-- Endpoints paused now, for the capped claims (read in the claim's transaction).
SELECT endpoint FROM endpoint_pauses WHERE expires_at IS NULL OR expires_at > $1;

-- name: lease_live
SELECT endpoint, count(*) AS n FROM events
WHERE status = 'processing' AND lease_expires_at > $1
GROUP BY endpoint;

-- name: lease_first_pending
-- Ordered endpoints (cap 1): only the oldest unfinished event may run, and only when due.
SELECT seq,
       (status = 'queued'
        OR (status = 'retrying' AND next_attempt_at <= $2)
        OR (status = 'processing' AND lease_expires_at <= $2)) AS due
FROM events
WHERE endpoint = $1 AND status IN ('queued', 'processing', 'retrying')
ORDER BY seq
LIMIT 1;

-- name: lease_capped
SELECT seq FROM events
WHERE endpoint = $1
  AND status IN ('queued', 'processing', 'retrying')
  AND (status = 'queued'
       OR (status = 'retrying' AND next_attempt_at <= $2)
       OR (status = 'processing' AND lease_expires_at <= $2))
ORDER BY seq
LIMIT $3;

-- name: lease_claim
-- $1 now, $2 endpoints (NULL: all), $3 capped endpoints (excluded here), $4 limit,
-- $5 seqs already chosen for capped endpoints, $6 owner, $7 lease expiry, $8 the last_error
-- of an event claimed after its lease expired (store/base.py LEASE_EXPIRED).
-- With endpoints (every worker process names its own), each endpoint's oldest due events come
-- from an ordered scan of events_pending_endpoint, merged by seq: the scan stops after $4 rows
-- whatever the table statistics say. (One scan with endpoint = ANY (...) would read every
-- pending row and sort them on each lease when statistics are stale or missing, as on a young
-- table or with autovacuum off.) Without endpoints, events_pending gives seq order directly.
-- seq has no index of its own: both the scans and the update's seq lookup use those indexes
-- (the status tests imply their predicate).
-- Paused endpoints (endpoint_pauses, a handful of rows looked up by key) are dropped from the
-- endpoints before any scan: their backlog, however long, is never read.
WITH active AS (
    SELECT r.endpoint FROM unnest($2::text[]) AS r (endpoint)
    WHERE NOT EXISTS (
        SELECT 1 FROM endpoint_pauses AS p
        WHERE p.endpoint = r.endpoint AND (p.expires_at IS NULL OR p.expires_at > $1)
    )
),
per_endpoint AS (
    SELECT c.seq
    FROM active AS r
    CROSS JOIN LATERAL (
        SELECT seq FROM events
        WHERE endpoint = r.endpoint
          AND status IN ('queued', 'processing', 'retrying')
          AND (status = 'queued'
               OR (status = 'retrying' AND next_attempt_at <= $1)
               OR (status = 'processing' AND lease_expires_at <= $1))
          AND NOT (r.endpoint = ANY ($3::text[]))
        ORDER BY seq
        LIMIT $4
        FOR UPDATE SKIP LOCKED
    ) AS c
),
everywhere AS (
    SELECT seq FROM events
    WHERE $2::text[] IS NULL
      AND status IN ('queued', 'processing', 'retrying')
      AND (status = 'queued'
           OR (status = 'retrying' AND next_attempt_at <= $1)
           OR (status = 'processing' AND lease_expires_at <= $1))
      AND NOT (endpoint = ANY ($3::text[]))
      AND NOT EXISTS (
          SELECT 1 FROM endpoint_pauses AS p
          WHERE p.endpoint = events.endpoint AND (p.expires_at IS NULL OR p.expires_at > $1)
      )
    ORDER BY seq
    LIMIT $4
    FOR UPDATE SKIP LOCKED
),
picked AS (
    SELECT seq FROM (
        SELECT seq FROM per_endpoint
        UNION ALL
        SELECT seq FROM everywhere
        UNION ALL
        SELECT unnest($5::bigint[])
    ) AS s
    ORDER BY seq
    LIMIT $4
)
UPDATE events AS e
SET status = 'processing',
    attempt = e.attempt + 1,
    lease_owner = $6,
    lease_expires_at = $7,
    last_error = CASE WHEN e.status = 'processing' THEN $8 ELSE e.last_error END
FROM picked
WHERE e.seq = picked.seq
  AND (e.status = 'queued'
       OR (e.status = 'retrying' AND e.next_attempt_at <= $1)
       OR (e.status = 'processing' AND e.lease_expires_at <= $1))
RETURNING e.seq, e.id, e.kind, e.plugin, e.endpoint, e.type, e.delivery_id, e.received_at,
    e.method, e.path, e.query_string, e.headers::text AS headers, e.body,
    e.params::text AS params, e.sender, e.source_ip, e.status, e.attempt, e.next_attempt_at,
    e.last_error, e.done_handlers::text AS done_handlers, e.response_status,
    e.response_headers::text AS response_headers, e.response_body, e.trace_context;

-- name: renew
UPDATE events SET lease_expires_at = $3
WHERE id = ANY ($2::text[]) AND lease_owner = $1 AND status = 'processing';

-- name: lookup_leases
-- Outcome batches: lock every event whose lease the given owner still holds. $1 ids and $2
-- owners are parallel arrays of distinct pairs. Rows are locked in id order (the sort is below
-- LockRows; renew's id = ANY index scan goes in id order too), so writers of overlapping sets
-- of events never wait for each other in a cycle.
SELECT e.id, e.lease_owner, e.attempt, e.replays, e.done_handlers::text AS done_handlers
FROM unnest($1::text[], $2::text[]) AS k (id, owner)
JOIN events AS e ON e.id = k.id AND e.lease_owner = k.owner
WHERE e.status = 'processing'
ORDER BY e.id
FOR UPDATE OF e;

-- name: insert_attempts
-- Every outcome of a batch in one statement: parallel arrays, one element per outcome, in the
-- order given (attempt ids, hence get_attempts, follow it).
INSERT INTO attempts (
    event_id, attempt, handler, ok, started_at, finished_at, error, traceback, replay
)
SELECT u.event_id, u.attempt, u.handler, u.ok, u.started_at, u.finished_at, u.error,
    u.traceback, u.replay
FROM unnest(
    $1::text[], $2::integer[], $3::text[], $4::boolean[], $5::double precision[],
    $6::double precision[], $7::text[], $8::text[], $9::integer[]
) WITH ORDINALITY AS u (
    event_id, attempt, handler, ok, started_at, finished_at, error, traceback, replay, ord
)
ORDER BY u.ord;

-- name: finish
-- Every event of a batch whose lease was checked (and locked) by lookup_leases.
UPDATE events AS e
SET status = u.status,
    next_attempt_at = u.next_attempt_at,
    last_error = u.last_error,
    done_handlers = u.done_handlers::jsonb,
    lease_owner = NULL,
    lease_expires_at = NULL
FROM unnest(
    $1::text[], $2::text[], $3::double precision[], $4::text[], $5::text[]
) AS u (id, status, next_attempt_at, last_error, done_handlers)
WHERE e.id = u.id;

-- name: release
-- The interrupted try does not count: back to queued (never tried) or retrying (due now).
UPDATE events
SET status = CASE WHEN attempt > 1 THEN 'retrying' ELSE 'queued' END,
    attempt = greatest(attempt - 1, 0),
    next_attempt_at = coalesce(next_attempt_at, received_at),
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id = ANY ($2::text[]) AND lease_owner = $1 AND status = 'processing';

-- name: get_event
SELECT seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path,
    query_string, headers::text AS headers, body, params::text AS params, sender, source_ip,
    status, attempt, next_attempt_at, last_error, done_handlers::text AS done_handlers,
    response_status, response_headers::text AS response_headers, response_body, replays,
    trace_context
FROM events WHERE id = $1;

-- name: get_attempts
SELECT attempt, replay, handler, ok, started_at, finished_at, error, traceback
FROM attempts WHERE event_id = $1 ORDER BY id;

-- name: list_events
-- Metadata only: bodies (up to 25 MB each) stay on disk until one event is shown (get_event).
-- Newest first by id: ids begin with the arrival time in milliseconds, so id order is arrival
-- order and events_pkey serves the keyset ($5) without a sort (an index on received_at would
-- cost an entry on every status change: see 0003_index_diet.sql). Substring filters ($7, $8)
-- are case-insensitive; $9 matches the start of the event id or of the delivery id.
SELECT seq, id, kind, plugin, endpoint, type, delivery_id, received_at, method, path,
    query_string, '[]' AS headers, ''::bytea AS body, params::text AS params, sender,
    source_ip, status, attempt, next_attempt_at, last_error, done_handlers::text AS done_handlers,
    response_status, '[]' AS response_headers, NULL::bytea AS response_body, replays
FROM events
WHERE ($1::text IS NULL OR endpoint = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR type = $3)
  AND ($4::double precision IS NULL OR received_at >= $4)
  AND ($10::double precision IS NULL OR received_at < $10)
  AND ($7::text IS NULL OR strpos(lower(endpoint), lower($7)) > 0)
  AND ($8::text IS NULL OR strpos(lower(coalesce(type, '')), lower($8)) > 0)
  AND ($9::text IS NULL OR left(id, length($9)) = lower($9)
       OR left(delivery_id, length($9)) = $9)
  AND ($5::text IS NULL OR id < $5)
ORDER BY id DESC
LIMIT $6;

-- name: count_events
-- How many events list_events would page through (the keyset and limit aside), counting at
-- most $9 rows: a total costs a bounded walk whatever the table holds.
SELECT count(*) FROM (
    SELECT 1 FROM events
    WHERE ($1::text IS NULL OR endpoint = $1)
      AND ($2::text IS NULL OR status = $2)
      AND ($3::text IS NULL OR type = $3)
      AND ($4::double precision IS NULL OR received_at >= $4)
      AND ($5::double precision IS NULL OR received_at < $5)
      AND ($6::text IS NULL OR strpos(lower(endpoint), lower($6)) > 0)
      AND ($7::text IS NULL OR strpos(lower(coalesce(type, '')), lower($7)) > 0)
      AND ($8::text IS NULL OR left(id, length($8)) = lower($8)
           OR left(delivery_id, length($8)) = $8)
    LIMIT $9
) AS matching;

-- name: arrivals
-- Per endpoint, events received since $1 and since $2 ($2 >= $1). $3 is the id of the earliest
-- of them at most (ids start with the arrival time in milliseconds), so events_pkey reads only
-- that window, whatever the table holds.
SELECT endpoint, count(*) AS n, count(*) FILTER (WHERE received_at >= $2) AS recent
FROM events
WHERE id >= $3 AND received_at >= $1
GROUP BY endpoint;

-- name: delete_events
-- Events a worker holds (processing) are left: their attempt finishes first. Attempts go with
-- their event (ON DELETE CASCADE).
DELETE FROM events WHERE id = ANY ($1::text[]) AND status != 'processing'
RETURNING id;

-- name: requeue
-- Replay: a fresh round, numbered (replays). Route events are records of answered requests,
-- not work.
UPDATE events
SET status = 'queued',
    attempt = 0,
    replays = replays + 1,
    done_handlers = '[]',
    next_attempt_at = $2,
    last_error = NULL,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id = ANY ($1::text[]) AND kind = 'receiver'
RETURNING id;

-- name: ids_with_status
SELECT id FROM events WHERE status = $1 ORDER BY seq LIMIT $2;

-- name: prune
-- Attempts go with their event (ON DELETE CASCADE).
DELETE FROM events
WHERE id IN (
    SELECT id FROM events
    WHERE status IN ('done', 'unhandled') AND received_at < $1
    ORDER BY received_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING id;

-- name: counts
-- One count per status, each through that status's partial index (events_pending for queued,
-- which checks the status in the heap; the others index-only where the visibility map allows),
-- rather than a scan of the whole table: no index covers every row's status.
SELECT 'queued' AS status, count(*) AS n FROM events WHERE status = 'queued'
UNION ALL
SELECT 'processing', count(*) FROM events WHERE status = 'processing'
UNION ALL
SELECT 'retrying', count(*) FROM events WHERE status = 'retrying'
UNION ALL
SELECT 'done', count(*) FROM events WHERE status = 'done'
UNION ALL
SELECT 'dead', count(*) FROM events WHERE status = 'dead'
UNION ALL
SELECT 'unhandled', count(*) FROM events WHERE status = 'unhandled';

-- name: endpoint_counts
-- The metrics' one grouped query (cached by the scrape): events per endpoint and status, and
-- when the oldest of them that is due now became due.
SELECT endpoint, status, count(*) AS n,
       min(CASE
           WHEN status = 'queued' THEN coalesce(next_attempt_at, received_at)
           WHEN status = 'retrying' AND next_attempt_at <= $1 THEN next_attempt_at
           WHEN status = 'processing' AND lease_expires_at <= $1 THEN lease_expires_at
       END) AS due_since
FROM events
GROUP BY endpoint, status;

-- name: next_due
SELECT min(t) FROM (
    SELECT $1::double precision AS t WHERE EXISTS (SELECT 1 FROM events WHERE status = 'queued')
    UNION ALL
    SELECT min(next_attempt_at) FROM events WHERE status = 'retrying'
    UNION ALL
    SELECT min(lease_expires_at) FROM events WHERE status = 'processing'
) AS due;

-- Pauses (endpoint_pauses: a handful of rows).

-- name: pause
INSERT INTO endpoint_pauses (endpoint, paused_at, expires_at, paused_by)
VALUES ($1, $2, $3, $4)
ON CONFLICT (endpoint) DO UPDATE
SET paused_at = excluded.paused_at, expires_at = excluded.expires_at,
    paused_by = excluded.paused_by;

-- name: resume
DELETE FROM endpoint_pauses WHERE endpoint = $1 RETURNING expires_at;

-- name: pauses
SELECT endpoint, paused_at, expires_at, paused_by FROM endpoint_pauses
WHERE expires_at IS NULL OR expires_at > $1
ORDER BY endpoint;

-- Rejected deliveries (rejections: metadata only, bounded by count and age).

-- name: insert_rejection
INSERT INTO rejections (at, method, path, endpoint, status, reason, source_ip, header_names,
                        body_size)
SELECT * FROM unnest($1::float8[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[],
                     $7::text[], $8::text[], $9::bigint[]);

-- name: prune_rejections
DELETE FROM rejections
WHERE at < $1
   OR id <= (SELECT max(id) FROM rejections) - $2;

-- name: list_rejections
-- Newest first by id (the primary key: no index beyond it is needed, the table is bounded by
-- [store] rejected_keep); $6 is the keyset cursor.
SELECT id, at, method, path, endpoint, status, reason, source_ip, header_names, body_size
FROM rejections
WHERE ($1::float8 IS NULL OR at >= $1)
  AND ($2::float8 IS NULL OR at < $2)
  AND ($3::text IS NULL OR endpoint = $3)
  AND (NOT $4::boolean OR endpoint IS NULL)
  AND ($5::int IS NULL OR status = $5)
  AND ($6::bigint IS NULL OR id < $6)
ORDER BY id DESC
LIMIT $7;

-- name: count_rejections
-- How many rejections list_rejections would page through (the keyset and limit aside), counting
-- at most $6 rows.
SELECT count(*) FROM (
    SELECT 1 FROM rejections
    WHERE ($1::float8 IS NULL OR at >= $1)
      AND ($2::float8 IS NULL OR at < $2)
      AND ($3::text IS NULL OR endpoint = $3)
      AND (NOT $4::boolean OR endpoint IS NULL)
      AND ($5::int IS NULL OR status = $5)
    LIMIT $6
) AS matching;

-- Chat commands (chat_commands: the audit of hookport.chatops, bounded by count and age).

-- name: insert_chat_command
INSERT INTO chat_commands (at, platform, "user", channel, command, result, summary)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: prune_chat_commands
DELETE FROM chat_commands
WHERE at < $1
   OR id <= (SELECT max(id) FROM chat_commands) - $2;

-- name: list_chat_commands
SELECT at, platform, "user", channel, command, result, summary
FROM chat_commands
WHERE ($1::float8 IS NULL OR at >= $1)
  AND ($2::text IS NULL OR platform = $2)
ORDER BY id DESC
LIMIT $3;

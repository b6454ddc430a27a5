-- Index diet. Every status change (append, lease, finish, retry) rewrites the row: status is
-- named by partial index predicates, so no status update is HOT, and the new row version gets
-- an entry in every index whose predicate it satisfies. Indexes over all rows are paid on every
-- step of every event; partial ones only while the event is in their status.
--
-- Before: events_pkey, events_seq_key, events_delivery, events_due (status, next_attempt_at),
-- events_status_received (status, received_at), events_pending, events_pending_endpoint: 7
-- entries per append, 7 per lease, 5 per finish (19 per event delivered once).
-- After: events_pkey, events_delivery, events_pending, events_pending_endpoint, plus one small
-- index per non-queued status: 4 entries per append, 5 per lease, 3 per finish (12).
--
-- What serves each query of queries/postgres.sql now:
--   claims (lease_claim, lease_capped, lease_first_pending), next_due's "any queued", counting
--   queued: events_pending / events_pending_endpoint, as before;
--   lease_live, next_due's oldest lease, counts: events_processing (a handful of rows);
--   next_due's next retry, list/ids of retrying, counts: events_retrying;
--   prune (oldest done first), counts (index-only): events_done;
--   ids_with_status('dead') oldest first, list of dead, counts: events_dead (dead rows are few
--   and change only on replay);
--   ids, list, renew, release, requeue, outcomes: events_pkey; dedupe: events_delivery.
--
-- seq keeps its identity (arrival order) but loses its unique index: identity values are unique
-- by construction, and every query that looks rows up or orders them by seq looks only at
-- pending rows (events_pending) or dead ones (events_dead). Ordering every done event by seq
-- (a bulk replay of done events, rare and bounded by its limit) now sorts instead.
--
-- Plain CREATE INDEX (migrations run in a transaction, so not CONCURRENTLY): it blocks writes to
-- events while the indexes build, a moment on a pruned table. migrate.py holds an advisory lock,
-- so processes starting at once apply this exactly once.

CREATE INDEX events_processing ON events (lease_expires_at) WHERE status = 'processing';
CREATE INDEX events_retrying ON events (next_attempt_at) WHERE status = 'retrying';
CREATE INDEX events_done ON events (received_at) WHERE status = 'done';
CREATE INDEX events_dead ON events (seq) WHERE status = 'dead';

DROP INDEX events_due;
DROP INDEX events_status_received;
ALTER TABLE events DROP CONSTRAINT events_seq_key;

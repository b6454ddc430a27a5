-- Bodies move out of the events row into their own table, keyed by the event's seq.
-- SQLite rewrites a whole row (overflow pages included) on every UPDATE, so with a 7 KB body in
-- the row each status change (lease, outcome, retry) wrote and committed the body again: two
-- to three times per delivery, most of the worker's commit time (bench/README.md, issue 16).
-- The events row is now small metadata; the body is written once and read when an event is
-- leased or shown. A trigger deletes a body with its event, whatever deletes the event.

CREATE TABLE event_bodies (
    seq   INTEGER PRIMARY KEY,  -- events.seq
    body  BLOB    NOT NULL
);

INSERT INTO event_bodies (seq, body) SELECT seq, body FROM events;

ALTER TABLE events DROP COLUMN body;

CREATE TRIGGER events_delete_body AFTER DELETE ON events
BEGIN
    DELETE FROM event_bodies WHERE seq = old.seq;
END;

-- Replays are numbered: events.replays counts the times an event was replayed, and each attempt
-- records the replay it belongs to (0: the original delivery), so attempt numbers that start
-- again at 1 after a replay are grouped under it instead of repeating.
ALTER TABLE events ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN replay INTEGER NOT NULL DEFAULT 0;

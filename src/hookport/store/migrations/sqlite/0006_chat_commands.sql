-- Chat commands (hookport.chatops): who ran what, where, and how it ended. Bounded: pruned by
-- count and age after each record is written.
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

CREATE INDEX chat_commands_at ON chat_commands (at);

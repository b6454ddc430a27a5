-- Chat commands (hookport.chatops): who ran what, where, and how it ended. Bounded: pruned by
-- count and age after each record is written.
CREATE TABLE chat_commands (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        double precision NOT NULL,
    platform  text    NOT NULL,
    "user"    text    NOT NULL,
    channel   text    NOT NULL,
    command   text    NOT NULL,
    result    text    NOT NULL,
    summary   text    NOT NULL DEFAULT ''
);

CREATE INDEX chat_commands_at ON chat_commands (at);

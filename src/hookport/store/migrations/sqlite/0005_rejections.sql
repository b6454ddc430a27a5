-- Rejected deliveries: every 4xx answer (and hook rule mismatch), metadata only: never a body
-- or a header's value. Bounded: pruned by count and age after each batch is written.
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

CREATE INDEX rejections_at ON rejections (at);

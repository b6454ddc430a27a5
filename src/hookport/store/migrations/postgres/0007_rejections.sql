-- Rejected deliveries: every 4xx answer (and hook rule mismatch), metadata only: never a body
-- or a header's value. Bounded: pruned by count and age after each batch is written.
CREATE TABLE rejections (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            double precision NOT NULL,
    method        text    NOT NULL,
    path          text    NOT NULL,
    endpoint      text,
    status        integer NOT NULL,
    reason        text    NOT NULL,
    source_ip     text,
    header_names  text    NOT NULL DEFAULT '[]',
    body_size     bigint  NOT NULL DEFAULT 0
);

CREATE INDEX rejections_at ON rejections (at);

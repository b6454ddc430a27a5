-- Traces across the queue ([tracing]): the W3C traceparent of the delivery's ingest span,
-- written on append and read on lease, so that each handler run's span links to it. NULL when
-- tracing is off (and for events stored before this migration). A nullable column without a
-- default rewrites nothing.
ALTER TABLE events ADD COLUMN trace_context text;

-- Compress stored bodies with lz4 rather than the default pglz: webhook payloads are a few KB of
-- JSON, and pglz costs about half of PostgreSQL's CPU per append (bench/README.md). Skipped on
-- servers built without lz4 (and before PostgreSQL 14, which has no per-column compression).
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
    ) THEN
        ALTER TABLE events ALTER COLUMN body SET COMPRESSION lz4;
        ALTER TABLE events ALTER COLUMN response_body SET COMPRESSION lz4;
    END IF;
END
$$;

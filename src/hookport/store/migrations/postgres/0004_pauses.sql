-- Paused endpoints: while an endpoint has a row here (and expires_at is NULL or in the future),
-- its deliveries are still verified, stored and acknowledged, but no worker leases its events
-- (a paused route answers 503). Resume deletes the row. A handful of rows at most: the claim
-- looks each of its endpoints up here by primary key.
CREATE TABLE endpoint_pauses (
    endpoint    text             PRIMARY KEY,
    paused_at   double precision NOT NULL,
    expires_at  double precision,
    paused_by   text
);

-- PostgreSQL twin of migrations/009_sdk_instances.sql: every SDK instance seen on the client API.
CREATE TABLE sdk_instances (
  app_name            TEXT NOT NULL,
  instance_id         TEXT NOT NULL,
  sdk_version         TEXT,
  connection          TEXT,
  refresh_interval_ms BIGINT,
  metrics_interval_ms BIGINT,
  started_at          BIGINT,
  name_prefix         TEXT,
  first_seen          BIGINT NOT NULL,
  last_seen           BIGINT NOT NULL,
  last_fetch_at       BIGINT,
  revision            BIGINT,
  held_since          BIGINT,
  etag                TEXT,
  stream_open         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_name, instance_id)
);
CREATE INDEX sdk_instances_last_seen ON sdk_instances (last_seen);

-- Every SDK instance seen on the client API (register, metrics, polls, streams): what it last fetched and when,
-- so the audit can tell which instances would miss a rollback. Flushed from memory periodically; bounded by the
-- registry's cap (oldest last_seen evicted).
CREATE TABLE sdk_instances (
  app_name            TEXT NOT NULL,
  instance_id         TEXT NOT NULL,
  sdk_version         TEXT,
  connection          TEXT,                 -- poll | stream (how it last fetched)
  refresh_interval_ms INTEGER,              -- the poll interval it announces (unleash-interval header)
  metrics_interval_ms INTEGER,              -- the interval its register body carries
  started_at          INTEGER,
  name_prefix         TEXT,                 -- the namePrefix it polls with, when it filters
  first_seen          INTEGER NOT NULL,
  last_seen           INTEGER NOT NULL,
  last_fetch_at       INTEGER,              -- the last poll answered (200 or 304) or push written to its stream
  revision            INTEGER,              -- the served revision it holds since that fetch
  held_since          INTEGER,              -- when it first held that revision
  etag                TEXT,
  stream_open         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_name, instance_id)
);
CREATE INDEX sdk_instances_last_seen ON sdk_instances (last_seen);

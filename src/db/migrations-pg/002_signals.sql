-- PostgreSQL twin of migrations/002_signals.sql: time-bucketed signal aggregates and latency histograms.
CREATE TABLE signal_buckets (
  flag    TEXT NOT NULL,
  start   BIGINT NOT NULL,
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  width   BIGINT NOT NULL,
  count   DOUBLE PRECISION NOT NULL,
  sum     DOUBLE PRECISION NOT NULL,
  sumsq   DOUBLE PRECISION,
  PRIMARY KEY (flag, start, metric, arm, width)
);

CREATE TABLE signal_histograms (
  flag    TEXT NOT NULL,
  start   BIGINT NOT NULL,
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  width   BIGINT NOT NULL,
  le      DOUBLE PRECISION NOT NULL,
  count   DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (flag, start, metric, arm, width, le)
);

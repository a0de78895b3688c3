-- PostgreSQL twin of migrations/010_signal_segments.sql: signals per segment of a plan's by: field.
CREATE TABLE signal_segment_buckets (
  flag    TEXT NOT NULL,
  start   BIGINT NOT NULL,
  segment TEXT NOT NULL,
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  width   BIGINT NOT NULL,
  count   DOUBLE PRECISION NOT NULL,
  sum     DOUBLE PRECISION NOT NULL,
  sumsq   DOUBLE PRECISION,
  PRIMARY KEY (flag, start, segment, metric, arm, width)
);

CREATE TABLE signal_segment_histograms (
  flag    TEXT NOT NULL,
  start   BIGINT NOT NULL,
  segment TEXT NOT NULL,
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  width   BIGINT NOT NULL,
  le      DOUBLE PRECISION NOT NULL,
  count   DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (flag, start, segment, metric, arm, width, le)
);

CREATE TABLE signal_segments (
  flag       TEXT NOT NULL,
  segment    TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  PRIMARY KEY (flag, segment)
);

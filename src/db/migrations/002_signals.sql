-- Health signals as time-bucketed aggregates: rows grow with time, flags and arms, never with traffic.
-- One row per (flag, arm, metric, bucket). For a rate metric `count` is the trials and `sum` the events
-- (errors: requests and failed requests; conversions: units and conversions). For a value metric `count` is
-- the observations, `sum` and `sumsq` their sum and sum of squares; sumsq is NULL when some contribution
-- came without squares, and NULL + x stays NULL, so "variance unknown" survives accumulation.
-- The key starts with (flag, start): reading a flag's series and retention per flag are range scans.
CREATE TABLE signal_buckets (
  flag    TEXT NOT NULL,
  start   INTEGER NOT NULL,   -- bucket start, ms since the epoch
  metric  TEXT NOT NULL,      -- errors | latency | log-latency | conversions | revenue | exposures
  arm     TEXT NOT NULL,      -- treatment | control | a variant name
  width   INTEGER NOT NULL,   -- 60000 while raw, 3600000 once rolled up
  count   REAL NOT NULL,
  sum     REAL NOT NULL,
  sumsq   REAL,
  PRIMARY KEY (flag, start, metric, arm, width)
) WITHOUT ROWID;

-- Latency histograms beside their bucket row: per upper bound `le` in ms, the observations in
-- (previous le, le]. Non-cumulative so that merging is addition; le = Infinity holds the overflow.
CREATE TABLE signal_histograms (
  flag    TEXT NOT NULL,
  start   INTEGER NOT NULL,
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  width   INTEGER NOT NULL,
  le      REAL NOT NULL,
  count   REAL NOT NULL,
  PRIMARY KEY (flag, start, metric, arm, width, le)
) WITHOUT ROWID;

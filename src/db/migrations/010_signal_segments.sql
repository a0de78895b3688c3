-- Signals per segment: the value of a plan's `by:` context field (region=eu, tenant=acme) a record names.
-- A segmented record is stored twice: in signal_buckets as before, so the whole population and every test on it
-- are unchanged, and here under its segment, for the per-segment tests. Separate tables rather than a segment
-- column in signal_buckets' key: no table rebuild of existing data, and whole-population reads scan no
-- segment rows. Same shape and meaning as signal_buckets and signal_histograms (002).
CREATE TABLE signal_segment_buckets (
  flag    TEXT NOT NULL,
  start   INTEGER NOT NULL,
  segment TEXT NOT NULL,      -- the context field's value, or "(other)" past the stored values' cap
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  width   INTEGER NOT NULL,
  count   REAL NOT NULL,
  sum     REAL NOT NULL,
  sumsq   REAL,
  PRIMARY KEY (flag, start, segment, metric, arm, width)
) WITHOUT ROWID;

CREATE TABLE signal_segment_histograms (
  flag    TEXT NOT NULL,
  start   INTEGER NOT NULL,
  segment TEXT NOT NULL,
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  width   INTEGER NOT NULL,
  le      REAL NOT NULL,
  count   REAL NOT NULL,
  PRIMARY KEY (flag, start, segment, metric, arm, width, le)
) WITHOUT ROWID;

-- The segment values each flag's signals named, in order of arrival (first_seen: the minute of the first
-- record), at most 100 per flag: the order fixes which values get a test of their own before any is judged.
CREATE TABLE signal_segments (
  flag       TEXT NOT NULL,
  segment    TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  PRIMARY KEY (flag, segment)
);

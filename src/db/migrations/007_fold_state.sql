-- Each rollout's assessment as running state, so a tick folds only the minutes that closed since the last one
-- and a restart goes on where it stopped. One row per (flag, stream): a stream is one guardrail's test, keyed
-- by an opaque string (the guardrail's index and name); stream '*' holds the flag's own totals (stage
-- traffic, last signal). valid_key is what the state was folded under (the plan's checksum, the fold window's
-- start, the rollout start, the mode): a state under another key is folded again from scratch. state is JSON.
CREATE TABLE fold_state (
  flag         TEXT NOT NULL,
  stream       TEXT NOT NULL,
  valid_key    TEXT NOT NULL,
  folded_until INTEGER NOT NULL,   -- every interval ending at or before this is in the state
  state        TEXT NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (flag, stream)
);

-- Signals that arrived for minutes a flag's assessment had already folded: kept apart, never folded in
-- afterwards (history does not rewrite itself), and counted in the verdict as `late`.
CREATE TABLE signal_late (
  flag    TEXT NOT NULL,
  start   INTEGER NOT NULL,   -- the minute the signal was for
  metric  TEXT NOT NULL,      -- a bucket's metric, or 'histogram' for latency histogram counts
  arm     TEXT NOT NULL,
  le      REAL NOT NULL,      -- the histogram bound; 0 for a bucket's metric
  count   REAL NOT NULL,
  sum     REAL NOT NULL,
  writes  INTEGER NOT NULL,   -- how many signal values came late into this row
  PRIMARY KEY (flag, start, metric, arm, le)
);

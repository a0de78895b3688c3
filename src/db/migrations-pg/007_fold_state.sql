-- PostgreSQL twin of migrations/007_fold_state.sql: each rollout's assessment as running state, and the signals that came late for it.
CREATE TABLE fold_state (
  flag         TEXT NOT NULL,
  stream       TEXT NOT NULL,
  valid_key    TEXT NOT NULL,
  folded_until BIGINT NOT NULL,
  state        TEXT NOT NULL,
  updated_at   BIGINT NOT NULL,
  PRIMARY KEY (flag, stream)
);

CREATE TABLE signal_late (
  flag    TEXT NOT NULL,
  start   BIGINT NOT NULL,
  metric  TEXT NOT NULL,
  arm     TEXT NOT NULL,
  le      DOUBLE PRECISION NOT NULL,
  count   DOUBLE PRECISION NOT NULL,
  sum     DOUBLE PRECISION NOT NULL,
  writes  BIGINT NOT NULL,
  PRIMARY KEY (flag, start, metric, arm, le)
);

-- Audit runs (scheduled or requested): the whole report, and the gates failing then, so a notification goes out
-- only when a gate newly fails, not on every run.
CREATE TABLE audit_runs (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       INTEGER NOT NULL,
  trigger  TEXT NOT NULL,      -- schedule | request
  status   TEXT NOT NULL,      -- pass | warn | fail: the worst check
  failing  TEXT NOT NULL,      -- JSON array of the failing gates' keys
  report   TEXT NOT NULL       -- JSON: the checks and the trust ledger
);
CREATE INDEX audit_runs_at ON audit_runs (at);

-- Flags SDKs reported evaluating (client metrics) that no plan defines: their metrics are not stored as signals,
-- so the audit keeps this much to name them.
CREATE TABLE sdk_unplanned_flags (
  flag         TEXT PRIMARY KEY,
  evaluations  INTEGER NOT NULL,
  first_seen   INTEGER NOT NULL,
  last_seen    INTEGER NOT NULL
);

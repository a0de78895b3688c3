-- Alerts as received from Alertmanager, Grafana or the generic endpoint, with what they matched and did.
-- One row per firing episode and status: (source, fingerprint, starts_at, status) is unique, so a repeated
-- or duplicated notification updates the row it belongs to instead of acting again.
CREATE TABLE alerts (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  source            TEXT NOT NULL,             -- alertmanager | grafana | generic
  fingerprint       TEXT NOT NULL,             -- the sender's, or derived from the label set
  status            TEXT NOT NULL,             -- firing | resolved
  starts_at         INTEGER NOT NULL,          -- episode start, ms since the epoch (first receipt when unsent)
  alertname         TEXT,
  summary           TEXT,
  labels            TEXT NOT NULL,             -- JSON object
  annotations       TEXT NOT NULL,             -- JSON object
  matched           TEXT,                      -- JSON: [{flag, by, outcome, eventId}] of the last handling
  outcome           TEXT,                      -- no-match | matched; NULL while unfinished (a repeat acts again)
  received_at       INTEGER NOT NULL,
  last_received_at  INTEGER NOT NULL,
  times_received    INTEGER NOT NULL DEFAULT 1,
  UNIQUE (source, fingerprint, starts_at, status)
);
CREATE INDEX alerts_fingerprint ON alerts (source, fingerprint, id);

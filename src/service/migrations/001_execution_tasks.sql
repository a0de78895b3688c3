-- The execution tasks as the service stored them before the schema change, and per-tenant usage metering.
CREATE TABLE execution_tasks (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  type         TEXT NOT NULL,          -- ideas-implementation | self-improvement
  input        TEXT NOT NULL,          -- JSON
  mode         TEXT NOT NULL,          -- inline | queued: which path processed it
  status       TEXT NOT NULL,          -- queued | running | done | failed | dead
  result       TEXT,                   -- JSON, written once by the first attempt that succeeds
  error        TEXT,
  attempts     INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX execution_tasks_tenant ON execution_tasks (tenant_id, created_at);

-- Completed tasks per tenant (what billing reads): the side effect a duplicate delivery must not repeat.
CREATE TABLE tenant_usage (
  tenant_id    TEXT PRIMARY KEY,
  tasks_done   INTEGER NOT NULL DEFAULT 0
);

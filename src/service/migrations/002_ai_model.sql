-- Expand step of the ai_model change: a nullable column, so rows written by code that does not know it stay valid.
-- Adding a nullable column without a default only rewrites the schema, never the rows, and old statements that
-- name their columns keep working. SQLite has no ADD COLUMN IF NOT EXISTS: the migration table makes a second
-- run a no-op, and the task store checks for the column before it prepares statements that name it.
-- The contract step (NOT NULL, after a backfill) is a later, separate migration, shipped only once
-- schema.ai-model has been at 100 % long enough that no reader or writer on the old path remains.
ALTER TABLE execution_tasks ADD COLUMN ai_model TEXT;

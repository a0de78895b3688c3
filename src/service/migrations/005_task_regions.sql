-- The region each task was created from (its X-Region header), apart from execution_tasks so that neither the old
-- nor the ai_model statements change: the workers report a queued task's outcome under the region it came from.
CREATE TABLE task_regions (
  task_id TEXT PRIMARY KEY,
  region  TEXT NOT NULL
);

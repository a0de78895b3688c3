-- The durable task queue: one row per task, leased to one worker at a time, retried with backoff, dead-lettered.
CREATE TABLE task_queue (
  task_id       TEXT PRIMARY KEY,
  state         TEXT NOT NULL,          -- ready | leased | done | dead
  attempts      INTEGER NOT NULL DEFAULT 0,  -- deliveries so far; a lease that expires counts as one
  available_at  INTEGER NOT NULL,       -- not claimable before this (backoff)
  lease_until   INTEGER,                -- a leased row whose lease passed is claimable again
  lease_token   TEXT,                   -- who holds the lease; complete and fail must present it
  enqueued_at   INTEGER NOT NULL,
  last_error    TEXT,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX task_queue_claimable ON task_queue (state, available_at);
CREATE INDEX task_queue_leases ON task_queue (state, lease_until);

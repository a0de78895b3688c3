-- Holds are recorded once per structural key (hold kind + guardrail), not per reason text.
ALTER TABLE flag_state ADD COLUMN hold_key TEXT;

-- Idempotency keys of signal batches: a repeat within the window answers the stored answer and stores nothing.
-- Written in the same transaction as the records, so an acknowledged batch is deduplicated across kill -9.
CREATE TABLE idempotency_keys (
  scope       TEXT NOT NULL,            -- endpoint and principal: keys of different senders never collide
  key         TEXT NOT NULL,
  body_hash   TEXT NOT NULL,            -- a key reused with another body is refused, not replayed
  status      INTEGER NOT NULL,
  answer      TEXT NOT NULL,            -- the JSON body first answered
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Notifications waiting for delivery, written in the transaction of the transition they announce.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        INTEGER NOT NULL,
  target          TEXT NOT NULL,        -- sha256 of the webhook URL (the URL itself may be a secret)
  type            TEXT NOT NULL,
  body            TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  status          TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | failed
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE INDEX events_at ON events (at);
CREATE INDEX alerts_received ON alerts (last_received_at);

-- Small facts the process keeps about itself; the storage probe writes here to learn that writes still work.
CREATE TABLE meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);

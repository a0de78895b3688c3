-- Plans as loaded from flags/, each flag's runtime state, and the append-only event log.
CREATE TABLE plans (
  name        TEXT PRIMARY KEY,
  spec        TEXT NOT NULL,          -- the validated plan as JSON
  file        TEXT NOT NULL,          -- the file it came from, relative to the flags folder
  checksum    TEXT NOT NULL,          -- sha256 of the plan JSON, to notice real changes
  loaded_at   INTEGER NOT NULL,
  removed_at  INTEGER                 -- set when the file disappears; the flag is then no longer served
);

CREATE TABLE flag_state (
  flag              TEXT PRIMARY KEY REFERENCES plans(name),
  enabled           INTEGER NOT NULL,   -- the kill switch: 0 serves the flag off to everyone
  phase             TEXT NOT NULL,      -- static | ready | progressing | paused | rolled-back | completed
  stage             INTEGER NOT NULL DEFAULT 0,
  stage_started_at  INTEGER,            -- bake time is measured from here, never from a timer
  started_at        INTEGER,
  phase_reason      TEXT,
  version           INTEGER NOT NULL DEFAULT 1,
  updated_at        INTEGER NOT NULL
);

CREATE TABLE events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  flag      TEXT,
  type      TEXT NOT NULL,
  actor     TEXT NOT NULL,
  reason    TEXT,
  data      TEXT NOT NULL DEFAULT '{}'   -- evidence, before/after state, problems: JSON
);
CREATE INDEX events_flag_id ON events (flag, id);

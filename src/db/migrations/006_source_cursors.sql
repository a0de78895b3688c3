-- How far each pulled signal source (Prometheus) has been read per flag, written with the signals it read,
-- so a restart resumes where it stopped instead of storing the same minutes twice.
CREATE TABLE source_cursors (
  flag TEXT NOT NULL,
  source TEXT NOT NULL,
  read_until INTEGER NOT NULL,
  PRIMARY KEY (flag, source)
);

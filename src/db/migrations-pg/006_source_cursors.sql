-- PostgreSQL twin of migrations/006_source_cursors.sql: how far each pulled signal source has been read per flag.
CREATE TABLE source_cursors (
  flag TEXT NOT NULL,
  source TEXT NOT NULL,
  read_until BIGINT NOT NULL,
  PRIMARY KEY (flag, source)
);

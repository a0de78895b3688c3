-- PostgreSQL twin of migrations/004_watch_since.sql.
ALTER TABLE flag_state ADD COLUMN watch_since BIGINT;

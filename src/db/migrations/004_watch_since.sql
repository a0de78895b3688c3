-- When a person resumes a rollout after a verdict stopped it, the tests watch afresh from then.
ALTER TABLE flag_state ADD COLUMN watch_since INTEGER;

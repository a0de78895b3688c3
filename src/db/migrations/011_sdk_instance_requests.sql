-- How many requests each SDK instance made (polls, register, metrics, streams opened). The SDK-reach audit and
-- drills judge only instances seen on at least two, so ids invented for a single request cannot fail the gate.
-- Rows from before count as one: a real SDK proves itself again on its next poll.
ALTER TABLE sdk_instances ADD COLUMN requests INTEGER NOT NULL DEFAULT 1;

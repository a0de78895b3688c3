-- PostgreSQL twin of migrations/011_sdk_instance_requests.sql: requests per SDK instance.
ALTER TABLE sdk_instances ADD COLUMN requests BIGINT NOT NULL DEFAULT 1;

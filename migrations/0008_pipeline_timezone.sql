-- Pipelines in the owner's time zone (issue 28): an IANA name, the cron schedule's slots are
-- computed in it (daylight saving handled by croner); existing pipelines stay on UTC.
ALTER TABLE pipelines ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';

-- An installer's written reason to go ahead despite a no-go survey; cleared
-- by the next revision of the survey, which is judged afresh.
ALTER TABLE surveys ADD COLUMN override_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE surveys ADD COLUMN override_at TEXT NOT NULL DEFAULT '';

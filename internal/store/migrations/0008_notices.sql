-- How the tenant notice of each job was given: one row per notice record
-- (a building may get the notice posted and mailed, in two languages).
CREATE TABLE notices (
    record_id   TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    how         TEXT NOT NULL,
    given_at    TEXT NOT NULL,
    lang        TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE INDEX notices_by_job ON notices (job, given_at);

-- The install session's own steps: the unit's self-test for the job, and the
-- finished install with its report record.
CREATE TABLE selftests (
    job     TEXT PRIMARY KEY,
    serial  TEXT NOT NULL,
    passed  INTEGER NOT NULL CHECK (passed IN (0, 1)),
    results TEXT NOT NULL, -- JSON
    at      TEXT NOT NULL
);

CREATE TABLE installs (
    job         TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL,
    finished_at TEXT NOT NULL
);

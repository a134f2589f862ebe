-- The survey of each job, newest revision: the survey as JSON (canonical),
-- its hash and the verdict the rules gave. Every revision is also a signed
-- survey record in the outbox, and journalled.
CREATE TABLE surveys (
    job        TEXT PRIMARY KEY,
    revision   INTEGER NOT NULL CHECK (revision >= 1),
    body       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The cellular signal the paired unit measured at the mount point, kept for
-- a survey written after pairing.
CREATE TABLE signals (
    job         TEXT PRIMARY KEY,
    unit        TEXT NOT NULL,
    rssi_dbm    INTEGER,          -- NULL: the modem found no network
    rsrp_dbm    INTEGER,
    measured_at TEXT NOT NULL
);

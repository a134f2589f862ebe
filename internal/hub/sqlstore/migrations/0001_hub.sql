-- The back office's schema. Times are RFC 3339 UTC text with nine fraction
-- digits (fixed width, so text order is time order); a NULL time is the zero
-- time. Slices are JSON arrays; envelopes and packets are stored byte for byte.

-- Enrollment codes, by the hex SHA-256 of the code. redeemed_at is set once,
-- by the request that redeems it.
CREATE TABLE enrollments (
    code_hash   TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    redeemed_at TEXT
);

-- users holds one row per person with their current key and token; every key
-- a person ever enrolled stays in user_keys so that a record signed with a
-- key replaced by re-enrollment is known as that person's (and refused as
-- signed by a revoked key) rather than as signed by nobody.
CREATE TABLE users (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    key_id     TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    revoked_at TEXT
);

-- replaced_at is NULL for a user's current key and the time of the
-- re-enrollment that replaced it otherwise. A key is revoked from the earlier
-- of that and the user's revoked_at (see sqlstore.userColumns).
CREATE TABLE user_keys (
    key_id      TEXT NOT NULL PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    role        TEXT NOT NULL,
    sign_key    BLOB NOT NULL,
    kex_key     BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    replaced_at TEXT
);

CREATE TABLE jobs (
    id           TEXT NOT NULL PRIMARY KEY,
    building     TEXT NOT NULL,
    address      TEXT NOT NULL,
    doors        TEXT NOT NULL, -- JSON array of strings
    access_hours TEXT NOT NULL,
    incentive    TEXT NOT NULL,
    terms        TEXT NOT NULL,
    installer    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    packet       BLOB NOT NULL
);
CREATE INDEX jobs_installer ON jobs (installer, created_at, id);
CREATE INDEX jobs_created ON jobs (created_at, id);

-- Verified records, with an index for each filter of Records that also
-- gives its order. They are immutable: the triggers below refuse every
-- change, so a stored record is exactly what its signer sent.
CREATE TABLE records (
    id          TEXT NOT NULL PRIMARY KEY,
    kind        TEXT NOT NULL,
    signer      TEXT NOT NULL,
    key_ids     TEXT NOT NULL, -- JSON array of strings, signer's first
    digest      TEXT NOT NULL,
    job         TEXT NOT NULL, -- '' when the header names none
    unit        TEXT NOT NULL, -- '' when the header names none
    created_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    envelope    BLOB NOT NULL
);
CREATE INDEX records_created ON records (created_at, id);
CREATE INDEX records_kind ON records (kind, created_at, id);
CREATE INDEX records_job ON records (job, created_at, id);
CREATE INDEX records_signer ON records (signer, created_at, id);
CREATE INDEX records_unit ON records (unit, created_at) WHERE unit <> '';

CREATE TRIGGER records_immutable_update BEFORE UPDATE ON records
BEGIN
    SELECT RAISE(ABORT, 'records are immutable');
END;

CREATE TRIGGER records_immutable_delete BEFORE DELETE ON records
BEGIN
    SELECT RAISE(ABORT, 'records are immutable');
END;

-- INSERT OR REPLACE deletes the old row without firing DELETE triggers
-- (recursive_triggers is off), so an insert of a stored id is dropped here.
-- IGNORE rather than ABORT: a trigger that may abort makes every INSERT keep
-- a statement journal, which wrote each touched page out again and cut
-- intake speed by half (BenchmarkIntake).
CREATE TRIGGER records_immutable_replace BEFORE INSERT ON records
WHEN EXISTS (SELECT 1 FROM records WHERE id = NEW.id)
BEGIN
    SELECT RAISE(IGNORE);
END;

-- The answer to each intake request, by the user's Idempotency-Key, kept
-- until expires_at and then swept.
CREATE TABLE idempotency (
    user_name      TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    results        TEXT NOT NULL, -- JSON array of results, in request order
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    PRIMARY KEY (user_name, key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

CREATE TABLE denylist (
    serial    TEXT NOT NULL PRIMARY KEY,
    reason    TEXT NOT NULL,
    denied_at TEXT NOT NULL
);

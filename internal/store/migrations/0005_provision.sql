-- Units paired for a job: what attestation proved. One row per job: pairing
-- again (another unit, or the same one later) replaces it, and the journal
-- keeps the history.
CREATE TABLE pairings (
    job         TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL,
    serial      TEXT NOT NULL,
    model       TEXT NOT NULL,
    firmware    TEXT NOT NULL,
    sign_key    BLOB NOT NULL,
    kex_key     BLOB NOT NULL,
    label       TEXT NOT NULL,
    unit_cert   TEXT NOT NULL, -- hex SHA-256 of the unit certificate
    root        TEXT NOT NULL, -- hex SHA-256 of the trusted root
    cert_expiry TEXT NOT NULL,
    nonce       BLOB NOT NULL,
    paired_at   TEXT NOT NULL
);

-- Key burning, one row per job and slot, saved before every step so that a
-- rerun after a cable pull or a kill finishes exactly what is missing.
-- state: writing (the sealed key may have reached the unit; nonce and kcv
-- say what to expect), done (a verified receipt is stored). No key, sealed
-- or not, is ever stored here: kcv is the check value only.
CREATE TABLE burns (
    job        TEXT    NOT NULL,
    slot       INTEGER NOT NULL CHECK (slot >= 0 AND slot < 256),
    door       TEXT    NOT NULL,
    serial     TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('writing', 'done')),
    kcv        BLOB    NOT NULL,
    nonce      BLOB    NOT NULL,
    receipt    BLOB,            -- the unit's receipt as verified (JSON), when done
    record_id  TEXT,            -- the receipt record queued in the outbox
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (job, slot)
);

-- Units latchkey refuses to burn again: a slot held a key other than the
-- one sealed for it, or a slot read back wrong.
CREATE TABLE quarantine (
    serial TEXT PRIMARY KEY,
    job    TEXT NOT NULL,
    reason TEXT NOT NULL,
    at     TEXT NOT NULL
);

-- The signed consent of each job: the DSSE envelope exactly as queued
-- (signed by the installer, countersigned by the unit), with the facts the
-- notice gate and the install session need. A revocation keeps the row and
-- notes the revocation record.
CREATE TABLE consents (
    job           TEXT PRIMARY KEY,
    record_id     TEXT NOT NULL,
    serial        TEXT NOT NULL,
    envelope      BLOB NOT NULL,
    terms_sha256  TEXT NOT NULL,
    lang          TEXT NOT NULL,
    notice_by     TEXT NOT NULL,
    signed_at     TEXT NOT NULL,
    revoked_at    TEXT,
    revocation_id TEXT
);

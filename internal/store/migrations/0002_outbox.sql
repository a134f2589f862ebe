-- The outbox holds every signed record that must reach the back office, one
-- row per record, written in the same transaction as the local change the
-- record describes. seq is the send order. Rows are never deleted: a sent
-- row keeps when it went, a rejected one why it was refused.
--
-- idempotency_key is made when the row is queued and kept for good (the
-- single-record endpoint sends it). batch_key is the Idempotency-Key of the
-- batch request the row was last put in: set before the request goes out and
-- kept until the answer is stored, so a batch cut short by a crash or a
-- timeout is sent again with the same key and the same rows.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    record_id       TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL,
    job             TEXT    NOT NULL DEFAULT '',
    unit            TEXT    NOT NULL DEFAULT '',
    envelope        BLOB    NOT NULL,
    digest          TEXT    NOT NULL CHECK (length(digest) = 64),
    idempotency_key TEXT    NOT NULL UNIQUE,
    queued_at       TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'rejected')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at TEXT    NOT NULL DEFAULT '',
    sent_at         TEXT    NOT NULL DEFAULT '',
    reject_code     TEXT    NOT NULL DEFAULT '',
    reject_reason   TEXT    NOT NULL DEFAULT '',
    batch_key       TEXT    NOT NULL DEFAULT ''
);

-- The signed record itself never changes once queued.
CREATE TRIGGER outbox_record_immutable BEFORE UPDATE OF record_id, kind, envelope, digest, idempotency_key, queued_at ON outbox
BEGIN
    SELECT RAISE(ABORT, 'outbox records are immutable');
END;

CREATE TRIGGER outbox_keep_rows BEFORE DELETE ON outbox
BEGIN
    SELECT RAISE(ABORT, 'outbox rows are kept');
END;

CREATE INDEX outbox_by_state ON outbox (state, seq);
CREATE INDEX outbox_in_flight ON outbox (batch_key, seq) WHERE state = 'queued' AND batch_key <> '';

-- The journal: an append-only, hash-chained log of every action on a unit or
-- a record (internal/journal). Each row is one entry; hash is the hex SHA-256
-- of the RFC 8785 canonical JSON of the other columns but sig, prev the hash
-- of the entry before (64 zeros for the first), and sig the actor's Ed25519
-- signature over "latchkey journal v1" 0x00 followed by the 32 hash bytes.
-- Times are RFC 3339 in UTC with nanoseconds, kept as the exact text hashed.
CREATE TABLE journal (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 1),
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    unit      TEXT    NOT NULL DEFAULT '',
    job       TEXT    NOT NULL DEFAULT '',
    record_id TEXT    NOT NULL DEFAULT '',
    outcome   TEXT    NOT NULL,
    detail    TEXT    NOT NULL DEFAULT '',
    prev      TEXT    NOT NULL CHECK (length(prev) = 64),
    hash      TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64),
    sig       BLOB    NOT NULL CHECK (length(sig) = 64)
);

-- Entries only ever go on the end: the next seq, chained to the newest hash.
-- Verify checks the same from the data, for a file edited with the triggers
-- dropped; these stop a bug (or a careless script) from doing it at all.
CREATE TRIGGER journal_append_only BEFORE INSERT ON journal
WHEN NEW.seq <> coalesce((SELECT max(seq) FROM journal), 0) + 1
  OR NEW.prev <> coalesce((SELECT hash FROM journal ORDER BY seq DESC LIMIT 1),
                          '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;

CREATE TRIGGER journal_immutable_update BEFORE UPDATE ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal entries are immutable');
END;

CREATE TRIGGER journal_immutable_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal entries are immutable');
END;

CREATE INDEX journal_by_unit ON journal (unit, seq) WHERE unit <> '';
CREATE INDEX journal_by_job ON journal (job, seq) WHERE job <> '';

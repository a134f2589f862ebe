-- The back office's schema on PostgreSQL: the same tables, columns and rules
-- as the SQLite schema of internal/hub/sqlstore (its migrations 0001-0003),
-- in PostgreSQL's own types.
--
-- Times: timestamptz holds microseconds, Go times and the storage contract
-- hold nanoseconds. Each time is therefore two columns: <name> (timestamptz,
-- the time truncated to the microsecond, for people and SQL) and <name>_ns
-- (the 0-999 nanoseconds the microsecond dropped). Order and compare by the
-- pair: (<name>, <name>_ns). A NULL time is the zero time (its _ns is 0).
--
-- Text: every key, name and serial is COLLATE "C" (byte order, as SQLite's
-- BINARY), so lists come out in the same order on both databases whatever the
-- database's locale. Lists of strings are text[]: NULL is a nil list, '{}' an
-- empty one. Envelopes and packets are bytea, stored byte for byte.

-- Enrollment codes, by the hex SHA-256 of the code. redeemed_at is set once,
-- by the request that redeems it.
CREATE TABLE enrollments (
    code_hash      text COLLATE "C" NOT NULL PRIMARY KEY,
    name           text COLLATE "C" NOT NULL,
    role           text NOT NULL,
    created_at     timestamptz NOT NULL,
    created_at_ns  smallint NOT NULL CHECK (created_at_ns BETWEEN 0 AND 999),
    expires_at     timestamptz NOT NULL,
    expires_at_ns  smallint NOT NULL CHECK (expires_at_ns BETWEEN 0 AND 999),
    redeemed_at    timestamptz,
    redeemed_at_ns smallint NOT NULL DEFAULT 0 CHECK (redeemed_at_ns BETWEEN 0 AND 999)
);

-- users holds one row per person with their current key and token; every key
-- a person ever enrolled stays in user_keys so that a record signed with a
-- key replaced by re-enrollment is known as that person's (and refused as
-- signed by a revoked key) rather than as signed by nobody.
CREATE TABLE users (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    name          text COLLATE "C" NOT NULL UNIQUE,
    key_id        text COLLATE "C" NOT NULL UNIQUE,
    token_hash    text COLLATE "C" NOT NULL UNIQUE,
    revoked_at    timestamptz,
    revoked_at_ns smallint NOT NULL DEFAULT 0 CHECK (revoked_at_ns BETWEEN 0 AND 999)
);

-- replaced_at is NULL for a user's current key and the time of the
-- re-enrollment that replaced it otherwise. A key is revoked from the earlier
-- of that and the user's revoked_at (see pgstore.scanUser).
CREATE TABLE user_keys (
    key_id         text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id        text COLLATE "C" NOT NULL REFERENCES users (id),
    role           text NOT NULL,
    sign_key       bytea NOT NULL,
    kex_key        bytea NOT NULL,
    fingerprint    text NOT NULL,
    enrolled_at    timestamptz NOT NULL,
    enrolled_at_ns smallint NOT NULL CHECK (enrolled_at_ns BETWEEN 0 AND 999),
    replaced_at    timestamptz,
    replaced_at_ns smallint NOT NULL DEFAULT 0 CHECK (replaced_at_ns BETWEEN 0 AND 999)
);
CREATE INDEX user_keys_user ON user_keys (user_id);

CREATE TABLE jobs (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    building      text NOT NULL,
    address       text NOT NULL,
    doors         text[],
    access_hours  text NOT NULL,
    incentive     text NOT NULL,
    terms         text NOT NULL,
    installer     text COLLATE "C" NOT NULL,
    created_at    timestamptz NOT NULL,
    created_at_ns smallint NOT NULL CHECK (created_at_ns BETWEEN 0 AND 999),
    expires_at    timestamptz NOT NULL,
    expires_at_ns smallint NOT NULL CHECK (expires_at_ns BETWEEN 0 AND 999),
    packet        bytea NOT NULL
);
CREATE INDEX jobs_installer ON jobs (installer, created_at, created_at_ns, id);
CREATE INDEX jobs_created ON jobs (created_at, created_at_ns, id);

-- Verified records, with an index for each filter of Records that also
-- gives its order. They are immutable: the triggers below refuse every
-- change, so a stored record is exactly what its signer sent. An insert of a
-- stored id is INSERT ... ON CONFLICT (id) DO NOTHING followed by a digest
-- comparison (duplicate or conflict).
CREATE TABLE records (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    kind           text COLLATE "C" NOT NULL,
    signer         text COLLATE "C" NOT NULL,
    key_ids        text[], -- signer's first
    digest         text NOT NULL,
    job            text COLLATE "C" NOT NULL, -- '' when the header names none
    unit           text COLLATE "C" NOT NULL, -- '' when the header names none
    created_at     timestamptz NOT NULL,
    created_at_ns  smallint NOT NULL CHECK (created_at_ns BETWEEN 0 AND 999),
    received_at    timestamptz NOT NULL,
    received_at_ns smallint NOT NULL CHECK (received_at_ns BETWEEN 0 AND 999),
    envelope       bytea NOT NULL,
    -- The header's journal reference (record.Header.journal): the signer's
    -- journal head when the laptop queued it; 0 and '' when it has none.
    journal_seq    bigint NOT NULL DEFAULT 0,
    journal_hash   text NOT NULL DEFAULT ''
);
CREATE INDEX records_created ON records (created_at, created_at_ns, id);
CREATE INDEX records_kind ON records (kind, created_at, created_at_ns, id);
CREATE INDEX records_job ON records (job, created_at, created_at_ns, id);
CREATE INDEX records_signer ON records (signer, created_at, created_at_ns, id);
CREATE INDEX records_unit ON records (unit, created_at, created_at_ns) WHERE unit <> '';
CREATE INDEX records_journal ON records (signer, journal_seq) WHERE journal_seq > 0;

CREATE FUNCTION records_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'records are immutable' USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER records_immutable_update BEFORE UPDATE ON records
    FOR EACH ROW EXECUTE FUNCTION records_immutable();
CREATE TRIGGER records_immutable_delete BEFORE DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION records_immutable();
-- TRUNCATE fires no row trigger; this one refuses it too.
CREATE TRIGGER records_immutable_truncate BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION records_immutable();

-- The answer to each intake request, by the user's Idempotency-Key, kept
-- until expires_at and then swept.
CREATE TABLE idempotency (
    user_name      text COLLATE "C" NOT NULL,
    key            text COLLATE "C" NOT NULL,
    request_digest text NOT NULL,
    results        jsonb NOT NULL, -- array of results, in request order
    created_at     timestamptz NOT NULL,
    created_at_ns  smallint NOT NULL CHECK (created_at_ns BETWEEN 0 AND 999),
    expires_at     timestamptz NOT NULL,
    expires_at_ns  smallint NOT NULL CHECK (expires_at_ns BETWEEN 0 AND 999),
    PRIMARY KEY (user_name, key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at, expires_at_ns);

CREATE TABLE denylist (
    serial       text COLLATE "C" NOT NULL PRIMARY KEY,
    reason       text NOT NULL,
    denied_at    timestamptz NOT NULL,
    denied_at_ns smallint NOT NULL CHECK (denied_at_ns BETWEEN 0 AND 999)
);

-- The back office's courier decisions: each time an administrator turned a
-- unit's courier access on or off (`hub units courier`), with the consent it
-- was decided under and the gate's reason. Rows are only added; the newest
-- row (highest id) of a serial is its state.
CREATE TABLE courier_decisions (
    id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    serial        text COLLATE "C" NOT NULL,
    enabled       boolean NOT NULL,
    job           text NOT NULL,
    consent       text NOT NULL, -- record id of the consent, '' when none
    reason        text NOT NULL,
    decided_at    timestamptz NOT NULL,
    decided_at_ns smallint NOT NULL CHECK (decided_at_ns BETWEEN 0 AND 999)
);
CREATE INDEX courier_decisions_serial ON courier_decisions (serial, id);

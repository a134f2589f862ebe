-- Each record's journal reference (record.Header.journal): the signer's
-- journal head when the laptop queued it. The newest one per user and key is
-- what the hub acknowledges (GET /v1/journal/head), so a laptop can tell
-- whether the newest entries of its journal were deleted. 0 and '' when the
-- header has none. ADD COLUMN changes no stored row, so the immutability
-- triggers do not fire.
ALTER TABLE records ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN journal_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX records_journal ON records (signer, journal_seq) WHERE journal_seq > 0;

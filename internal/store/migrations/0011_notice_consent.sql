-- The consent each notice was given for: a notice opens the courier gate
-- only for that consent.
ALTER TABLE notices ADD COLUMN consent_id TEXT NOT NULL DEFAULT '';

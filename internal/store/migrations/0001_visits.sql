-- Visits are immutable records: every edit appends a revision and a delete
-- appends a tombstone revision. visits holds one row per visit pointing at its
-- newest revision, with the columns that lists filter and sort on.
CREATE TABLE visit_revisions (
    visit_id         TEXT    NOT NULL,
    revision         INTEGER NOT NULL CHECK (revision >= 1),
    deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    recorded_at      TEXT    NOT NULL,
    visited_at       TEXT    NOT NULL,
    rep              TEXT    NOT NULL,
    building_name    TEXT    NOT NULL,
    building_address TEXT    NOT NULL,
    building_city    TEXT    NOT NULL,
    building_units   INTEGER NOT NULL,
    contact_name     TEXT    NOT NULL,
    contact_role     TEXT    NOT NULL,
    contact_phone    TEXT    NOT NULL,
    contact_email    TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    objections       TEXT    NOT NULL,
    objection_notes  TEXT    NOT NULL,
    incentive        TEXT    NOT NULL,
    follow_up        TEXT    NOT NULL,
    notes            TEXT    NOT NULL,
    PRIMARY KEY (visit_id, revision)
);

CREATE TRIGGER visit_revisions_immutable_update BEFORE UPDATE ON visit_revisions
BEGIN
    SELECT RAISE(ABORT, 'visit revisions are immutable');
END;

-- INSERT OR REPLACE deletes the old row without firing DELETE triggers
-- (recursive_triggers is off), so a replace is refused here.
CREATE TRIGGER visit_revisions_immutable_replace BEFORE INSERT ON visit_revisions
WHEN EXISTS (SELECT 1 FROM visit_revisions WHERE visit_id = NEW.visit_id AND revision = NEW.revision)
BEGIN
    SELECT RAISE(ABORT, 'visit revisions are immutable');
END;

CREATE TRIGGER visit_revisions_immutable_delete BEFORE DELETE ON visit_revisions
BEGIN
    SELECT RAISE(ABORT, 'visit revisions are immutable');
END;

CREATE TABLE visits (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    head       INTEGER NOT NULL,
    deleted    INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    visited_at TEXT    NOT NULL,
    rep        TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    follow_up  TEXT    NOT NULL,
    FOREIGN KEY (id, head) REFERENCES visit_revisions (visit_id, revision)
);

CREATE INDEX visits_by_time ON visits (deleted, visited_at DESC, id);
CREATE INDEX visits_by_outcome ON visits (deleted, outcome, visited_at DESC, id);
CREATE INDEX visits_by_rep ON visits (deleted, rep, visited_at DESC, id);
CREATE INDEX visits_by_follow_up ON visits (deleted, follow_up) WHERE follow_up <> '';

-- Text search over the newest revision: building, contact, rep and notes.
-- The trigram tokenizer lets LIKE '%text%' use the index (SQLite 3.38+), so a
-- search stays fast at 100,000 visits.
-- Its rowid is visits.seq.
CREATE VIRTUAL TABLE visit_search USING fts5 (body, tokenize = 'trigram');

-- The back office's courier decisions: each time an administrator turned a
-- unit's courier access on or off (`hub units courier`), with the consent it
-- was decided under and the gate's reason. Rows are only added; the newest
-- row of a serial is its state.
CREATE TABLE courier_decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    serial     TEXT    NOT NULL,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    job        TEXT    NOT NULL,
    consent    TEXT    NOT NULL, -- record id of the consent, '' when none
    reason     TEXT    NOT NULL,
    decided_at TEXT    NOT NULL
);
CREATE INDEX courier_decisions_serial ON courier_decisions (serial, id);

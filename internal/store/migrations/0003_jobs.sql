-- Jobs an installer pulled from the back office. packet is the signed job
-- packet exactly as the hub issued it: the door keys inside stay sealed to
-- the installer's X25519 key and are opened in memory only at burn time. The
-- other columns are copies of the packet's (signed) job, for listing.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    installer    TEXT NOT NULL,
    installer_key_id TEXT NOT NULL,
    building     TEXT NOT NULL,
    address      TEXT NOT NULL,
    doors        TEXT NOT NULL, -- JSON array of door names
    access_hours TEXT NOT NULL,
    incentive    TEXT NOT NULL,
    terms        TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    packet       BLOB NOT NULL,
    pulled_at    TEXT NOT NULL
);

CREATE INDEX jobs_by_issue ON jobs (issued_at DESC, id);

-- Units the back office refuses, as last pulled: the whole list is replaced
-- on every pull, since the hub's list is the truth.
CREATE TABLE denied_units (
    serial    TEXT PRIMARY KEY,
    reason    TEXT NOT NULL,
    denied_at TEXT NOT NULL,
    pulled_at TEXT NOT NULL
);

-- When the denylist in denied_units was issued by the hub (one row). A pull
-- with an older list is refused, so a replayed answer cannot bring back a
-- unit denied since.
CREATE TABLE denylist_issue (
    only_row  INTEGER PRIMARY KEY CHECK (only_row = 1),
    issued_at TEXT NOT NULL
);

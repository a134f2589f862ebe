-- The public half of the key the hub on this database signs job packets and
-- denylists with (hub.KeyPin): the first process that opens the database
-- with a hub.key records it, and any later one with another key is refused,
-- rather than issuing packets installers refuse. One row at most.
CREATE TABLE hub_key (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    public_key BLOB    NOT NULL CHECK (length(public_key) = 32),
    pinned_at  TEXT    NOT NULL
);

-- SQLite's migration 0004: the public half of the key the hub on this
-- database signs job packets and denylists with (hub.KeyPin). The first
-- instance or admin command that opens the database with a hub.key records
-- it; any later one with another key is refused, rather than issuing packets
-- installers refuse. One row at most.
CREATE TABLE hub_key (
    id           integer NOT NULL PRIMARY KEY CHECK (id = 1),
    public_key   bytea NOT NULL CHECK (length(public_key) = 32),
    pinned_at    timestamptz NOT NULL,
    pinned_at_ns smallint NOT NULL CHECK (pinned_at_ns BETWEEN 0 AND 999)
);

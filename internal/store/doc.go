// Package store owns latchkey's embedded database on the laptop: one SQLite
// file (pure Go, modernc.org/sqlite) in WAL mode with synchronous=FULL and
// foreign keys on, its numbered schema migrations, and the transaction helper
// every domain package writes through. It knows the file, not the records:
// each domain package keeps its own queries and this package keeps the schema
// they share, so that versioning stays in one place.
//
// A database that is damaged or was written by a newer latchkey is reported
// with an error naming the file; it is never reset or rewritten.
package store

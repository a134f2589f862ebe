// Package sales owns the sales rep's record of visits to buildings: the visit
// schema and its vocabularies, validation, immutable revisions and tombstones,
// listing and filtering, CSV and JSON interchange, and the pipeline figures of
// visit stats. Each revision it writes is queued for the back office as a
// signed record in the same transaction (see Recorder). It knows nothing of
// the command line or the screens.
package sales

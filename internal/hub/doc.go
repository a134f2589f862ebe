// Package hub is the reference back office: enrollment of users and their
// keys, installation jobs and their sealed job packets, intake of signed
// records (verified, deduplicated, idempotent), the unit denylist, and the
// HTTP API of internal/hubapi with health, readiness and metrics. Storage
// sits behind the Storage interface so that one conformance suite
// (internal/hub/storetest) holds every database to the same rules.
package hub

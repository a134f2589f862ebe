// Package paths owns where latchkey keeps its files on disk: the config,
// data, state and cache base directories and the well-known files inside
// them. Resolving the directories is a pure function of the environment so
// that it can be tested for every platform on any machine; only EnsureDir
// creates anything.
package paths

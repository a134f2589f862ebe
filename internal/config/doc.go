// Package config owns latchkey's settings: the registry of known keys with
// their types, defaults and help, the TOML config file that stores them, and
// the precedence that picks a value — a command-line flag, then a LATCHKEY_*
// environment variable, then the config file, then the key's default.
//
// The package does not know about flags or commands; callers pass a flag's
// value to Config.Resolve, and the `latchkey config` commands are built on
// Config.Get, List, Set and Unset.
package config

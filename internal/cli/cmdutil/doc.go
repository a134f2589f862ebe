// Package cmdutil holds what every latchkey command shares: the Factory that
// lazily opens the config, the store and the domain services, the terminal
// streams, output helpers for tables and JSON, and the error types that
// cli.Main maps to exit codes and hints. It holds no domain rules.
package cmdutil

// Command latchkey is the field tool for installing, selling and supporting
// door-access units. Everything lives in internal/cli; main only hands over
// the build information the linker stamped and exits with the code it gets.
package main

import (
	"os"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

//go:generate go run ../gendocs -completions ../../completions

// Set by the linker: -X main.version=… -X main.commit=… -X main.date=…
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	os.Exit(cli.Main(cmdutil.BuildInfo{Version: version, Commit: commit, Date: date}))
}

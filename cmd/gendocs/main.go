// Command gendocs writes latchkey's shell completion scripts (committed under
// completions/, via go generate) and man pages (a build output for releases).
//
//	go run ./cmd/gendocs -completions completions -man dist/man
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

func main() {
	completions := flag.String("completions", "", "write completion scripts into this directory")
	man := flag.String("man", "", "write man pages into this directory")
	version := flag.String("version", "dev", "version named in the man pages")
	flag.Parse()
	if *completions == "" && *man == "" {
		fmt.Fprintln(os.Stderr, "gendocs: give -completions DIR and/or -man DIR")
		os.Exit(2)
	}
	if err := run(*completions, *man, *version); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func factory(version string) *cmdutil.Factory {
	io, _, _, _ := cmdutil.Test()
	return &cmdutil.Factory{IO: io, Build: cmdutil.BuildInfo{Version: version}, Now: time.Now,
		Getenv: func(string) string { return "" }, GOOS: runtime.GOOS, Log: slog.New(slog.DiscardHandler)}
}

func run(completions, man, version string) error {
	if completions != "" {
		if err := os.MkdirAll(completions, 0o755); err != nil {
			return err
		}
		for _, sh := range cli.Shells() {
			var b bytes.Buffer
			if err := cli.WriteCompletion(cli.NewCmdRoot(factory(version)), sh, &b); err != nil {
				return fmt.Errorf("%s completion: %w", sh, err)
			}
			if err := os.WriteFile(filepath.Join(completions, cli.CompletionFile(sh)), b.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	if man != "" {
		if err := os.MkdirAll(man, 0o755); err != nil {
			return err
		}
		root := cli.NewCmdRoot(factory(version))
		root.DisableAutoGenTag = true
		hdr := &doc.GenManHeader{Title: "LATCHKEY", Section: "1", Source: "latchkey " + version, Manual: "latchkey manual"}
		if err := doc.GenManTree(root, hdr, man); err != nil {
			return err
		}
	}
	return nil
}

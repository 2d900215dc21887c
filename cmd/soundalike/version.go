package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/audotics/soundalike/storage"
)

func init() {
	register(command{name: "version", summary: "print the build's version and the database schema it reads", run: runVersion})
}

// versionJSON is what `version --json` prints: the build as the Go
// toolchain recorded it (debug.ReadBuildInfo), and the database schema
// this build reads and writes.
type versionJSON struct {
	Version  string `json:"version"`            // the module's version; "(devel)" for a build from a checkout
	Commit   string `json:"commit,omitempty"`   // the VCS revision the build was made from
	Time     string `json:"time,omitempty"`     // the revision's commit time
	Modified bool   `json:"modified,omitempty"` // the checkout had uncommitted changes
	Go       string `json:"go"`
	Schema   int    `json:"schema"`
}

func runVersion(ctx context.Context, args []string, stdio stdio) error {
	var asJSON bool
	fs := newFlagSet("version", stdio, nil)
	fs.BoolVar(&asJSON, "json", false, "print as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike version [--json]

Prints the build's version (the module's, or "(devel)" for a build from a
checkout), the commit it was built from when the toolchain recorded it,
the Go release, and the database schema this build reads and writes
(a database of another schema is refused with the release to use).`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments, got %q", fs.Args())
	}
	v := buildVersion()
	if asJSON {
		return json.NewEncoder(stdio.out).Encode(v)
	}
	fmt.Fprintf(stdio.out, "soundalike %s\n", v.Version)
	if v.Commit != "" {
		modified := ""
		if v.Modified {
			modified = ", with uncommitted changes"
		}
		fmt.Fprintf(stdio.out, "commit     %s (%s%s)\n", v.Commit, v.Time, modified)
	}
	fmt.Fprintf(stdio.out, "go         %s\n", v.Go)
	fmt.Fprintf(stdio.out, "schema     %d (the database format it reads and writes)\n", v.Schema)
	return nil
}

// buildVersion reads what the toolchain recorded of this build: the
// module's version and, for a build from a checkout, its revision.
// `go run` and tests record no revision.
func buildVersion() versionJSON {
	v := versionJSON{Version: "(devel)", Go: runtime.Version(), Schema: storage.SchemaVersion}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

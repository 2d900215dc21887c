package main

import (
	"strings"
	"testing"
)

// Given the command line without a command, a help request, an unknown
// command or a flag before the command, expect the manual only where
// asked for (on standard output, exit 0) or where nothing was given (on
// standard error, exit 2), and otherwise one line saying what to type.
func TestTopLevelUsage(t *testing.T) {
	const manualStart = "soundalike: which tracks sound like this one?"
	for _, tc := range []struct {
		name         string
		args         []string
		code         int
		manualOut    bool   // the manual on standard output
		manualErr    bool   // the manual on standard error
		stderrSaying string // what the last line of standard error says
	}{
		{"given no arguments, expect the manual on standard error and exit 2", nil, 2, false, true, "soundalike: no command given"},
		{"given help, expect the manual on standard output and exit 0", []string{"help"}, 0, true, false, ""},
		{"given --help, expect the manual on standard output and exit 0", []string{"--help"}, 0, true, false, ""},
		{"given help help, expect the manual on standard output and exit 0", []string{"help", "help"}, 0, true, false, ""},
		{"given help -h, expect the manual on standard output and exit 0", []string{"help", "-h"}, 0, true, false, ""},
		{"given help and an unknown command, expect unknown command and exit 2", []string{"help", "nosuch"}, 2, false, false, `unknown command "nosuch"; the commands are backup, `},
		{"given an unknown command, expect one line naming the commands", []string{"nosuch"}, 2, false, false, `unknown command "nosuch"; the commands are backup, `},
		{"given --db before the command, expect the command line with the flags after it", []string{"--db", "x.db", "info"}, 2, false, false, "soundalike: --db: flags follow the command: soundalike info --db x.db"},
		{"given only flags, expect where flags go", []string{"--db", "x.db"}, 2, false, false, "--db: flags follow the command: soundalike COMMAND [flags]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("soundalike %q: exit %d, want %d\n%s", tc.args, code, tc.code, stderr)
			}
			if got := strings.HasPrefix(stdout, manualStart); got != tc.manualOut {
				t.Errorf("soundalike %q: manual on standard output = %v, want %v:\n%s", tc.args, got, tc.manualOut, stdout)
			}
			if got := strings.HasPrefix(stderr, manualStart); got != tc.manualErr {
				t.Errorf("soundalike %q: manual on standard error = %v, want %v:\n%s", tc.args, got, tc.manualErr, stderr)
			}
			if !tc.manualOut && !tc.manualErr && strings.Count(stderr, "\n") != 1 {
				t.Errorf("soundalike %q: standard error = %q, want one line", tc.args, stderr)
			}
			if tc.stderrSaying == "" {
				if stderr != "" {
					t.Errorf("soundalike %q: standard error = %q, want nothing", tc.args, stderr)
				}
				return
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, tc.stderrSaying) {
				t.Errorf("soundalike %q: standard error ends %q, want it to say %q", tc.args, last, tc.stderrSaying)
			}
		})
	}
}

// Given -h of a command, expect each flag's default shown once: the --db
// line says where its default comes from, and the flag package adds the
// default itself; a flag's usage names its value once.
func TestFlagHelpDefaults(t *testing.T) {
	for _, env := range []string{"", "/x/env.db"} {
		t.Setenv("SOUNDALIKE_DB", env)
		want := `(default "soundalike.db")`
		if env != "" {
			want = `(default "/x/env.db")`
		}
		for _, cmd := range []string{"info", "import", "similar", "recommend"} {
			_, stderr, code := cli(t, "", cmd, "-h")
			if code != 0 {
				t.Fatalf("%s -h: exit %d\n%s", cmd, code, stderr)
			}
			_, after, ok := strings.Cut(stderr, "  -db path\n")
			if !ok {
				t.Fatalf("%s -h prints no -db flag:\n%s", cmd, stderr)
			}
			line, _, _ := strings.Cut(after, "\n")
			if strings.Count(line, "(default ") != 1 || !strings.HasSuffix(line, want) {
				t.Errorf("$SOUNDALIKE_DB=%q %s -h: -db %q, want one default, %s, and where it comes from", env, cmd, line, want)
			}
		}
	}
	_, stderr, _ := cli(t, "", "import", "-h")
	_, after, ok := strings.Cut(stderr, "  -memory MiB\n")
	if !ok {
		t.Fatalf("import -h prints no -memory MiB flag:\n%s", stderr)
	}
	if line, _, _ := strings.Cut(after, "\n"); strings.Contains(line, "MiB:") || !strings.Contains(line, "--buffer-mib") {
		t.Errorf("import -h: -memory MiB %q, want its usage to name --buffer-mib, not repeat MiB as a label", line)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"text/tabwriter"
)

// serveRounds is `bench serve --rounds N [--against BIN]`: N runs of the
// same bench serve, each in a fresh process (a fresh server, as a
// restarted `serve` is), alternated with another soundalike-bench binary
// when --against names one. On a machine whose speed drifts within
// minutes one run says little; the median of alternated runs, and in how
// many pairs one binary was lower, is the figure to compare.
type serveRounds struct {
	Runs    []roundRun     `json:"runs"`
	Summary []roundSummary `json:"summary"` // this binary first, then --against's
	// Pairs counts the rounds in which both binaries ran an open phase
	// (with --against and --phases open), and LowerPairs those in which
	// this binary's open-loop client p99 was the lower.
	Pairs      int `json:"pairs"`
	LowerPairs int `json:"lower_pairs"`
}

// roundRun is one bench serve run of a binary: this one, or --against.
type roundRun struct {
	Round  int               `json:"round"`
	Role   string            `json:"role"` // "this" or "against"
	Binary string            `json:"binary"`
	Report *serveBenchReport `json:"report"`
}

// roundSummary is a binary's runs: per phase present, the median and the
// range of the client's p99, and the median rate.
type roundSummary struct {
	Role   string         `json:"role"`
	Binary string         `json:"binary"`
	Phases []phaseSummary `json:"phases"`
}

type phaseSummary struct {
	Phase       string  `json:"phase"` // one, peak or open
	MedianP99US float64 `json:"median_p99_us"`
	MinP99US    float64 `json:"min_p99_us"`
	MaxP99US    float64 `json:"max_p99_us"`
	MedianQPS   float64 `json:"median_qps"`
}

// oneRoundFlags are the flags that write files per run: with --rounds
// every run would overwrite the last one's.
var oneRoundFlags = []string{"timeline", "trace", "memprofile", "cpuprofile"}

// childServeArgs are the arguments of one run: the flags the user set,
// less the driver's own, with --db fixed so that the first run's built
// catalogue serves the rest.
func childServeArgs(fs *flag.FlagSet, db string) []string {
	args := []string{"serve", "--json", "--db", db}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rounds", "against", "json", "db":
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	return args
}

// runServeRounds runs the rounds, alternating binaries within a round,
// and summarises them.
func runServeRounds(ctx context.Context, fs *flag.FlagSet, db string, rounds int, against string, progress io.Writer) (*serveRounds, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if db == "" {
		dir, err := os.MkdirTemp("", "soundalike-bench-rounds-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "bench.db")
	}
	roles, bins := []string{"this"}, []string{self}
	if against != "" {
		roles, bins = append(roles, "against"), append(bins, against)
	}
	args := childServeArgs(fs, db)
	out := &serveRounds{}
	for r := 1; r <= rounds; r++ {
		for i, bin := range bins {
			fmt.Fprintf(progress, "round %d of %d: %s\n", r, rounds, bin)
			rep, err := runServeChild(ctx, bin, args)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", r, bin, err)
			}
			out.Runs = append(out.Runs, roundRun{r, roles[i], bin, rep})
		}
	}
	for i := range bins {
		out.Summary = append(out.Summary, summarise(roles[i], bins[i], out.Runs))
	}
	if against != "" {
		for i := 0; i+1 < len(out.Runs); i += 2 {
			a, b := openP99(out.Runs[i].Report), openP99(out.Runs[i+1].Report)
			if a > 0 && b > 0 {
				out.Pairs++
				if a < b {
					out.LowerPairs++
				}
			}
		}
	}
	return out, nil
}

// runServeChild runs bin with args and decodes its --json report.
func runServeChild(ctx context.Context, bin string, args []string) (*serveBenchReport, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), benchAsCommandEnv+"=1") // a test binary runs this command
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, lastLine(stderr.Bytes()))
	}
	var rep serveBenchReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("reading its report: %w (want bench serve --json's output; is it a soundalike-bench binary?)", err)
	}
	return &rep, nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// openP99 is a run's open-loop client p99 (0 without that phase).
func openP99(rep *serveBenchReport) float64 {
	for _, p := range rep.Phases {
		if p.Client.Rate > 0 {
			return p.Client.P99US
		}
	}
	return 0
}

func summarise(role, bin string, runs []roundRun) roundSummary {
	s := roundSummary{Role: role, Binary: bin}
	byPhase := map[string][]*clientReport{}
	var keys []string
	for _, r := range runs {
		if r.Role != role {
			continue
		}
		for _, p := range r.Report.Phases {
			k := p.kind()
			if _, ok := byPhase[k]; !ok {
				keys = append(keys, k)
			}
			byPhase[k] = append(byPhase[k], p.Client)
		}
	}
	for _, k := range keys {
		var p99, qps []float64
		for _, c := range byPhase[k] {
			p99, qps = append(p99, c.P99US), append(qps, c.QPS)
		}
		slices.Sort(p99)
		slices.Sort(qps)
		s.Phases = append(s.Phases, phaseSummary{k, median(p99), p99[0], p99[len(p99)-1], median(qps)})
	}
	return s
}

// kind is the phase's key (one, peak or open); a report of a binary from
// before servePhase.Key is told by its rate and connections.
func (p servePhase) kind() string {
	switch {
	case p.Key != "":
		return p.Key
	case p.Client.Rate > 0:
		return "open"
	case p.Client.Conns == 1:
		return "one"
	}
	return "peak"
}

// median of sorted, non-empty xs.
func median(xs []float64) float64 {
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func (s *serveRounds) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range s.Runs {
		fmt.Fprintf(tw, "round %d\t%s (%s)", r.Round, r.Role, r.Binary)
		for _, p := range r.Report.Phases {
			fmt.Fprintf(tw, "\t%s: %.0f/s, p99 %.0f µs", p.kind(), p.Client.QPS, p.Client.P99US)
		}
		fmt.Fprintln(tw)
	}
	for _, sum := range s.Summary {
		for _, p := range sum.Phases {
			fmt.Fprintf(tw, "median\t%s\t%s: %.0f/s, p99 %.0f µs (%.0f–%.0f)\n", sum.Role, p.Phase, p.MedianQPS, p.MedianP99US, p.MinP99US, p.MaxP99US)
		}
	}
	if s.Pairs > 0 {
		fmt.Fprintf(tw, "pairs\t%d of %d rounds with this binary's open-loop p99 lower\n", s.LowerPairs, s.Pairs)
	}
	return tw.Flush()
}

// serveRoundsCommand checks the driver's flags, runs the rounds and
// prints them.
func serveRoundsCommand(ctx context.Context, fs *flag.FlagSet, db string, rounds int, against string, asJSON bool, stdio stdio) error {
	var bad error
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(oneRoundFlags, f.Name) && bad == nil {
			bad = usagef("serve: --%s writes one run's file: drop --rounds and --against to use it", f.Name)
		}
	})
	if bad != nil {
		return bad
	}
	if against != "" {
		if st, err := os.Stat(against); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return usagef("serve: --against %q: want an executable soundalike-bench binary", against)
		}
		// The path as given, not a name looked up in $PATH as exec would.
		abs, err := filepath.Abs(against)
		if err != nil {
			return err
		}
		against = abs
	}
	out, err := runServeRounds(ctx, fs, db, rounds, against, stdio.err)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if asJSON {
		b, _ := json.Marshal(out)
		_, err := stdio.out.Write(append(b, '\n'))
		return err
	}
	return out.writeTable(stdio.out)
}

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/trainer"
)

// Given the built-in sample, on which the default training stops early
// (no lower validation loss for the patience's epochs), when the demo
// trains, expect it to say so, at which epoch and in words that name no
// flag the demo lacks, rather than leave its epochs looking cut short.
func TestDemoTrainSaysEarlyStop(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "demo.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var said []string
	say := func(format string, a ...any) { said = append(said, fmt.Sprintf(format, a...)) }
	if err := demoImport(t.Context(), eng, say); err != nil {
		t.Fatal(err)
	}
	cfg := trainer.DefaultConfig()
	epochs := cfg.Epochs
	if _, err := demoTrain(t.Context(), eng, epochs, say); err != nil {
		t.Fatal(err)
	}
	out := strings.Join(said, "\n")
	stop := regexp.MustCompile(fmt.Sprintf(`(?m)early stop after epoch (\d+) of %d: no lower validation loss for %d epochs; keeping epoch \d+$`, epochs, cfg.Patience))
	m := stop.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo training said:\n%s\nwant a line matching %s", out, stop)
	}
	if n, _ := strconv.Atoi(m[1]); n >= epochs {
		t.Errorf("demo training said %q: want an epoch before the last, %d", m[0], epochs)
	}
	if strings.Contains(out, "--patience") {
		t.Errorf("demo training said:\n%s\nwhich names --patience, a flag the demo does not have", out)
	}

	// The demo's model carries the run's record as train stores it:
	// eval finds its held-out users, runs and the explorer its epochs.
	users, err := validationUsers(t.Context(), eng, "v1")
	if err != nil || len(users) == 0 {
		t.Errorf("the demo's model: validation users %v, %v; want the run's", users, err)
	}
	models, err := eng.Models(t.Context())
	if err != nil || len(models) != 1 {
		t.Fatalf("the demo's models: %v, %v; want one", models, err)
	}
	if r := summarise(models[0]); r.EpochsRun == 0 || r.Config == nil || r.Metrics == nil {
		t.Errorf("the demo's model as runs reads it: %+v; want its epochs, config and figures", r)
	}
}

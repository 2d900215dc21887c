package soundalike_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

func TestQueriesDuringReindexNeverFail(t *testing.T) {
	ctx := t.Context()
	eng, tracks := fixture(t, filepath.Join(t.TempDir(), "swap.db"), 400)
	var (
		stop    atomic.Bool
		queries atomic.Int64
		wg      sync.WaitGroup
		errs    = make(chan error, 4)
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; !stop.Load(); i++ {
				id := tracks[i%len(tracks)].ID
				ns, err := neighbors(eng.Similar(ctx, id, 10, nil))
				if err == nil && len(ns) != 10 {
					err = &shortError{id: string(id), n: len(ns)}
				}
				if err != nil {
					errs <- err
					return
				}
				queries.Add(1)
			}
		}()
	}
	for i := range 3 {
		if _, err := eng.SaveModel(ctx, randomModel(t, 16+i), soundalike.ModelRun{}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Reindex(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("query failed during reindex: %v", err)
	}
	if queries.Load() == 0 {
		t.Fatal("no query ran during the reindexes")
	}
	if m, _ := eng.Model(ctx); m.Version != "v4" {
		t.Errorf("served model after the reindexes = %s, want v4", m.Version)
	}
}

type shortError struct {
	id string
	n  int
}

func (e *shortError) Error() string {
	return fmt.Sprintf("Similar(%s) returned %d results, want 10", e.id, e.n)
}

// TestReindexChild is the child process of TestKilledReindex: it reindexes
// with a new model and reports its stages on stdout until it is killed.
func TestReindexChild(t *testing.T) {
	path := os.Getenv("SOUNDALIKE_REINDEX_CHILD")
	if path == "" {
		t.Skip("run by TestKilledReindex")
	}
	eng, err := soundalike.Open(path, &soundalike.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveModel(context.Background(), randomModel(t, 24), soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("stage model\n")
	_, err = eng.Reindex(context.Background(), &soundalike.ReindexOptions{Full: true, Progress: func(stage string, done, total int) {
		os.Stdout.WriteString("stage " + stage + "\n")
	}})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("stage done\n")
	time.Sleep(time.Minute) // wait to be killed
}

// A reindex killed with SIGKILL at any stage leaves a database that opens
// and serves: the previous index until the switch, the new one after it.
func TestKilledReindex(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := t.Context()
	for _, killAt := range []string{"model", "embed", "insert", "save", "done"} {
		t.Run(killAt, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kill.db")
			eng, _ := fixture(t, path, 3000)
			before, err := neighbors(eng.Similar(ctx, "t0007", 10, nil))
			if err != nil {
				t.Fatal(err)
			}
			eng.Close()

			cmd := exec.Command(os.Args[0], "-test.run=^TestReindexChild$", "-test.v")
			cmd.Env = append(os.Environ(), "SOUNDALIKE_REINDEX_CHILD="+path)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			reached := false
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "stage "+killAt {
					reached = true
					break
				}
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if !reached {
				t.Fatalf("child never reached stage %q", killAt)
			}

			after, err := soundalike.Open(path, nil)
			if err != nil {
				t.Fatalf("open after kill at %s: %v", killAt, err)
			}
			defer after.Close()
			got, err := neighbors(after.Similar(ctx, "t0007", 10, nil))
			if err != nil {
				t.Fatalf("Similar after kill at %s: %v", killAt, err)
			}
			m, _ := after.Model(ctx)
			switch {
			case killAt == "done":
				if m.Version != "v2" {
					t.Errorf("after a completed reindex the served model is %s, want v2", m.Version)
				}
			case m.Version != "v1":
				t.Errorf("after kill at %s the served model is %s, want v1 (the previous index)", killAt, m.Version)
			case len(got) != len(before) || got[0].ID != before[0].ID || got[0].Score != before[0].Score:
				t.Errorf("after kill at %s: %v, want the previous results %v", killAt, got, before)
			}
		})
	}
}

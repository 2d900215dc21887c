package soundalike_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

// TestImportRefusesWhatTheRecordCannotHold: a track whose metadata the
// record cannot hold, or an import from a file refuses (invalid UTF-8, a
// NUL byte), is refused naming the field; nothing of it is stored, and the
// catalogue still reads and checks clean.
func TestImportRefusesWhatTheRecordCannotHold(t *testing.T) {
	eng := MustOpen(t)
	many := make([]string, soundalike.MaxListLen+1)
	for i := range many {
		many[i] = "x"
	}
	bad := []struct {
		t    soundalike.Track
		want string
	}{
		{soundalike.Track{ID: "w8", DurationMS: 1 << 62}, "duration_ms: 4611686018427387904 is outside 0..2147483647"},
		{soundalike.Track{ID: "w9", DurationMS: 3000000000}, "duration_ms"},
		{soundalike.Track{ID: "u", Name: "\xff\xfe"}, "name"},
		{soundalike.Track{ID: "s", SpotifyID: "\x00"}, "spotify_id"},
		{soundalike.Track{ID: "g", Genres: []string{"\x00"}}, "genres[0]"},
		{soundalike.Track{ID: "a", Artists: many}, "artists has 1025 entries; at most 1024"},
		{soundalike.Track{ID: "n", Name: strings.Repeat("x", 10<<20)}, "name is 10485760 bytes long"},
	}
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for _, b := range bad {
			if err := soundalike.CheckTrack(&b.t); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("CheckTrack(%.40s) = %v, want an error containing %q", b.t.ID, err, b.want)
			}
			if _, _, err := tx.PutTrack(&b.t); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("PutTrack(%.40s) = %v, want an error containing %q", b.t.ID, err, b.want)
			}
		}
		_, _, err := tx.PutTrack(track("ok", 0.5))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := eng.Tracks(t.Context())
	if err != nil || len(tracks) != 1 {
		t.Errorf("Tracks = %d tracks, %v; want 1 track", len(tracks), err)
	}
	rep, err := eng.Check(t.Context())
	if err != nil || !rep.OK() {
		t.Errorf("Check = %v, %v; want a clean report", rep.Problems, err)
	}
}

// TestGenresAccumulateWithinBounds: genres accumulate over imports, but
// not past MaxListLen.
func TestGenresAccumulateWithinBounds(t *testing.T) {
	eng := MustOpen(t)
	put := func(genres []string) error {
		return eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			_, _, err := tx.PutTrack(track("t", 0.5, genres...))
			return err
		})
	}
	first := make([]string, soundalike.MaxListLen)
	for i := range first {
		first[i] = "g" + strings.Repeat("x", i%40) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
	}
	if err := put(first); err != nil {
		t.Fatal(err)
	}
	if err := put([]string{"one more"}); err == nil || !strings.Contains(err.Error(), "genres has 1025 entries") {
		t.Errorf("import of a genre past MaxListLen = %v, want an error naming genres", err)
	}
	if _, err := eng.Tracks(t.Context()); err != nil {
		t.Errorf("Tracks: %v", err)
	}
}

// TestInteractionTimes: a time outside what 64-bit nanoseconds hold is
// refused naming time; one inside round-trips; the Unix epoch reads back
// as unknown (documented on Interaction.Time).
func TestInteractionTimes(t *testing.T) {
	eng := MustOpen(t)
	latest := time.Unix(0, math.MaxInt64).UTC()
	earliest := time.Unix(0, math.MinInt64).UTC()
	cases := []struct {
		in, want time.Time
		err      string
	}{
		{in: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), err: "interaction: time: 3000-01-01T00:00:00Z is outside 1677-09-21T00:12:43.145224192Z..2262-04-11T23:47:16.854775807Z (it is stored as nanoseconds since 1970 in 64 bits); leave it zero when unknown"},
		{in: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), err: "interaction: time: 1500-01-01T00:00:00Z is outside"},
		{in: latest.Add(time.Nanosecond), err: "time"},
		{in: latest, want: latest},
		{in: earliest, want: earliest},
		{in: time.Date(2020, 5, 1, 12, 0, 0, 7, time.UTC), want: time.Date(2020, 5, 1, 12, 0, 0, 7, time.UTC)},
		{in: time.Unix(0, 0), want: time.Time{}},
		{in: time.Time{}, want: time.Time{}},
	}
	for i, c := range cases {
		user := string(rune('a' + i))
		in := &soundalike.Interaction{User: user, Track: "t", Time: c.in}
		err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			if _, _, err := tx.PutTrack(track("t", 0.5)); err != nil {
				return err
			}
			_, err := tx.PutInteraction(in)
			return err
		})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || soundalike.CheckInteraction(in) == nil {
				t.Errorf("PutInteraction(time %v) = %v, want an error containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("PutInteraction(time %v) = %v", c.in, err)
			continue
		}
		h, err := eng.UserHistory(t.Context(), user)
		if err != nil || len(h) != 1 || !h[0].Time.Equal(c.want) {
			t.Errorf("UserHistory after PutInteraction(time %v) = %v, %v; want time %v", c.in, h, err, c.want)
		}
	}
}

// recovered runs f and returns what it panicked with, or nil.
func recovered(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

// TestCallerMistakesAreNotDamage: nil arguments are errors that do not
// wrap ErrDamaged, and a panic in the caller's own callback reaches the
// caller as that panic; the engine stays usable and the file sound.
func TestCallerMistakesAreNotDamage(t *testing.T) {
	eng := MustOpen(t)
	ctx := t.Context()
	errs := map[string]error{
		"Import(nil)": eng.Import(ctx, nil),
		"PutTrack(nil)": eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			_, _, err := tx.PutTrack(nil)
			return err
		}),
		"PutInteraction(nil)": eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			_, err := tx.PutInteraction(nil)
			return err
		}),
		"ForEachTrack(nil)": eng.ForEachTrack(ctx, nil),
	}
	for name, err := range errs {
		if err == nil || errors.Is(err, soundalike.ErrDamaged) {
			t.Errorf("%s = %v, want an error that is not ErrDamaged", name, err)
		}
	}
	bug := errors.New("caller bug")
	if r := recovered(func() {
		eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			tx.PutTrack(track("p", 0.5))
			panic(bug)
		})
	}); r != bug {
		t.Errorf("Import whose callback panics: recovered %v, want %v", r, bug)
	}
	if err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		_, _, err := tx.PutTrack(track("ok", 0.5))
		return err
	}); err != nil {
		t.Fatalf("Import after a panicking one: %v", err)
	}
	if r := recovered(func() {
		eng.ForEachTrack(ctx, func(*soundalike.Track) error { panic(bug) })
	}); r != bug {
		t.Errorf("ForEachTrack whose callback panics: recovered %v, want %v", r, bug)
	}
	if tracks, err := eng.Tracks(ctx); err != nil || len(tracks) != 1 || tracks[0].ID != "ok" {
		t.Errorf("Tracks = %v, %v; want only ok (the panicking import rolled back)", tracks, err)
	}
	if rep, err := eng.Check(ctx); err != nil || !rep.OK() {
		t.Errorf("Check = %v, %v; want a clean report", rep.Problems, err)
	}
}

// TestNilAndInvalidArgumentsAreErrors: nil pointers, a nil ctx, an
// ImportTx kept past its Import and a negative count are refused or
// harmless, never a panic.
func TestNilAndInvalidArgumentsAreErrors(t *testing.T) {
	eng, _ := fixture(t, filepath.Join(t.TempDir(), "n.db"), 30)
	var saved *soundalike.ImportTx
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error { saved = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	var nilCtx context.Context
	calls := map[string]func() (error, string){
		"Embed(nil)": func() (error, string) { _, err := eng.Embed(nil); return err, "track is nil" },
		"PutTrack after Import": func() (error, string) {
			_, _, err := saved.PutTrack(track("late", 0.5))
			return err, "the import has ended"
		},
		"PutInteraction after Import": func() (error, string) {
			_, err := saved.PutInteraction(&soundalike.Interaction{User: "u", Track: "t0000"})
			return err, "the import has ended"
		},
		"DeleteTrack after Import": func() (error, string) {
			_, err := saved.DeleteTrack("t0000")
			return err, "the import has ended"
		},
		"CheckTrack(nil)":       func() (error, string) { return soundalike.CheckTrack(nil), "track is nil" },
		"CheckInteraction(nil)": func() (error, string) { return soundalike.CheckInteraction(nil), "interaction is nil" },
		"RawInputs(nil)": func() (error, string) {
			_, err := soundalike.RawInputs(nil, []string{"energy"}, nil)
			return err, "track is nil"
		},
		"Similar(nil ctx)": func() (error, string) { _, err := eng.Similar(nilCtx, "t0000", 5, nil); return err, "ctx is nil" },
		"SimilarTo(nil ctx)": func() (error, string) {
			_, err := eng.SimilarTo(nilCtx, soundalike.Query{Tracks: []soundalike.TrackID{"t0000"}}, 5, nil)
			return err, "ctx is nil"
		},
		"Import(nil ctx)": func() (error, string) {
			return eng.Import(nilCtx, func(*soundalike.ImportTx) error { return nil }), "ctx is nil"
		},
		"ForEachTrack(nil ctx)": func() (error, string) {
			return eng.ForEachTrack(nilCtx, func(*soundalike.Track) error { return nil }), "ctx is nil"
		},
		"Reindex(nil ctx)": func() (error, string) { _, err := eng.Reindex(nilCtx, nil); return err, "ctx is nil" },
	}
	for name, call := range calls {
		var err error
		var want string
		if r := recovered(func() { err, want = call() }); r != nil {
			t.Errorf("%s panicked: %v", name, r)
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s = %v, want an error containing %q", name, err, want)
		}
	}
	if r := recovered(func() { saved.Reserve(-5); saved.BeginSource() }); r != nil {
		t.Errorf("Reserve and BeginSource after Import panicked: %v", r)
	}
	if r := recovered(func() {
		if got := soundalike.TokenInputNames("x", -1); len(got) != 0 {
			t.Errorf("TokenInputNames(x, -1) = %v, want none", got)
		}
	}); r != nil {
		t.Errorf("TokenInputNames(x, -1) panicked: %v", r)
	}
	if _, err := eng.Track(t.Context(), "late"); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(late) = %v, want ErrNotFound: a write after the import ended must not be stored", err)
	}
}

// TestSearchOptionRefusals: an empty filter id and an offset whose sum
// with k overflows are refused, naming the field and its range.
func TestSearchOptionRefusals(t *testing.T) {
	eng, _ := fixture(t, filepath.Join(t.TempDir(), "o.db"), 30)
	for _, c := range []struct {
		opts soundalike.SearchOptions
		want string
	}{
		{soundalike.SearchOptions{Filter: &soundalike.Filter{IDs: []soundalike.TrackID{"t0001", ""}}}, "SearchOptions.Filter.IDs[1]: empty track reference"},
		{soundalike.SearchOptions{Offset: math.MaxInt}, "SearchOptions.Offset: 9223372036854775807 is outside 0..999"},
		{soundalike.SearchOptions{Offset: 1 << 40}, "SearchOptions.Offset: 1099511627776 is outside 0..999"},
	} {
		_, err := eng.Similar(t.Context(), "t0000", 5, &c.opts)
		if !errors.Is(err, soundalike.ErrInvalidQuery) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Similar(%+v) = %v, want ErrInvalidQuery containing %q", c.opts, err, c.want)
		}
	}
}

// TestOpenRefusesEmptyPath: Open names the empty path.
func TestOpenRefusesEmptyPath(t *testing.T) {
	if _, err := soundalike.Open("", nil); err == nil || !strings.Contains(err.Error(), "path is empty") {
		t.Errorf(`Open("") = %v, want an error naming the path`, err)
	}
}

// TestCloseEndsTheEngine: after Close, in every mode, every call fails
// with ErrClosed and writes nothing; a second Close returns nil.
func TestCloseEndsTheEngine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	eng, _ := fixture(t, path, 30)
	eng.Close()
	inEachMode(t, path, func(opts *soundalike.Options, eng *soundalike.Engine) {
		ctx := t.Context()
		if _, err := eng.Similar(ctx, "t0000", 3, nil); err != nil {
			t.Fatal(err)
		}
		if err := eng.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		backup := filepath.Join(dir, "backup.db")
		calls := map[string]func() error{
			"Import": func() error {
				return eng.Import(ctx, func(tx *soundalike.ImportTx) error {
					_, _, err := tx.PutTrack(track("after", 0.5))
					return err
				})
			},
			"Reindex":  func() error { _, err := eng.Reindex(ctx, nil); return err },
			"Backup":   func() error { _, err := eng.Backup(ctx, backup); return err },
			"Counts":   func() error { _, err := eng.Counts(); return err },
			"Similar":  func() error { _, err := eng.Similar(ctx, "t0000", 3, nil); return err },
			"Track":    func() error { _, err := eng.Track(ctx, "t0000"); return err },
			"Tracks":   func() error { _, err := eng.Tracks(ctx); return err },
			"Reload":   func() error { _, err := eng.Reload(ctx); return err },
			"Check":    func() error { _, err := eng.Check(ctx); return err },
			"Embed":    func() error { _, err := eng.Embed(track("x", 0.5)); return err },
			"Ready":    func() error { return eng.Ready(ctx) },
			"Search":   func() error { _, err := eng.SearchTracks(ctx, "song", 3); return err },
			"History":  func() error { _, err := eng.UserHistory(ctx, "u"); return err },
			"IndexSt.": func() error { _, err := eng.IndexState(ctx); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, soundalike.ErrClosed) {
				t.Errorf("%+v: %s after Close = %v, want ErrClosed", *opts, name, err)
			}
		}
		if err := eng.Close(); err != nil {
			t.Errorf("%+v: second Close = %v, want nil", *opts, err)
		}
		if m, _ := filepath.Glob(backup + "*"); len(m) > 0 {
			t.Errorf("%+v: Backup after Close wrote %v", *opts, m)
		}
	})
	check, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	if _, err := check.Track(t.Context(), "after"); !errors.Is(err, soundalike.ErrNotFound) {
		t.Errorf("Track(after) = %v, want ErrNotFound: an Import after Close wrote to the file", err)
	}
}

// TestCloseWaitsForTheWrite: Close during an Import returns only once the
// import has committed. The callback waits until Close has either returned
// (the defect) or is blocked inside the engine, so the outcome does not
// depend on how the scheduler interleaves the two goroutines.
func TestCloseWaitsForTheWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var closed atomic.Bool
	closeErr := make(chan error, 1)
	importErr := make(chan error, 1)
	go func() {
		importErr <- eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			go func() {
				err := eng.Close()
				closed.Store(true)
				closeErr <- err
			}()
			for !closed.Load() && !blockedIn("soundalike.(*Engine).Close") {
				runtime.Gosched()
			}
			if closed.Load() {
				t.Error("Close returned while an Import callback ran")
			}
			_, _, err := tx.PutTrack(track("during", 0.5))
			return err
		})
	}()
	if err := <-importErr; err != nil {
		t.Errorf("Import racing with Close = %v, want nil", err)
	}
	if err := <-closeErr; err != nil {
		t.Errorf("Close = %v", err)
	}
	ro, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Track(t.Context(), "during"); err != nil {
		t.Errorf("Track(during) = %v: the import Close waited for was not committed", err)
	}
}

// blockedIn reports whether some goroutine whose stack holds fn is blocked
// on a lock or channel (not runnable or running).
func blockedIn(fn string) bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(g, fn) && !strings.Contains(header, "[running]") && !strings.Contains(header, "[runnable]") {
			return true
		}
	}
	return false
}

// TestQueriesRacingWithClose: queries racing with Close either answer or
// fail with ErrClosed, in every mode (run it with -race).
func TestQueriesRacingWithClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	eng, _ := fixture(t, path, 30)
	eng.Close()
	inEachMode(t, path, func(opts *soundalike.Options, eng *soundalike.Engine) {
		ctx := t.Context()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 50 {
					if g == 0 && i == 10 {
						eng.Close()
					}
					_, e1 := eng.Similar(ctx, "t0000", 3, nil)
					_, e2 := eng.Counts()
					_, e3 := eng.Track(ctx, "t0001")
					_, e4 := eng.Reload(ctx)
					for _, err := range []error{e1, e2, e3, e4} {
						if err != nil && !errors.Is(err, soundalike.ErrClosed) {
							t.Errorf("%+v: a call racing with Close = %v, want nil or ErrClosed", *opts, err)
						}
					}
				}
			})
		}
		wg.Wait()
	})
}

// inEachMode opens the database at path in each of the engine's modes
// (writing, ReadOnly, Detached) and calls fn with the engine.
func inEachMode(t *testing.T, path string, fn func(opts *soundalike.Options, eng *soundalike.Engine)) {
	t.Helper()
	for _, opts := range []*soundalike.Options{{NoSync: true}, {ReadOnly: true}, {Detached: true}} {
		eng, err := soundalike.Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		fn(opts, eng)
	}
}

// Given an Engine Open did not make, the zero Engine or a nil *Engine,
// when each of its methods is called, expect none to panic (some would
// on a load's goroutine, out of the caller's reach), Close to return nil
// (a deferred Close after a failed Open is harmless) and every other call
// that returns an error one wrapping ErrClosed that says so.
func TestUnopenedEngineRefusesEveryCall(t *testing.T) {
	for name, v := range map[string]reflect.Value{
		"zero Engine": reflect.ValueOf(new(soundalike.Engine)),
		"nil *Engine": reflect.ValueOf((*soundalike.Engine)(nil)),
	} {
		for i := range v.NumMethod() {
			m := v.Type().Method(i)
			args := make([]reflect.Value, m.Type.NumIn()-1)
			for j := range args {
				args[j] = argFor(m.Type.In(j + 1))
			}
			var out []reflect.Value
			if r := recovered(func() { out = v.Method(i).Call(args) }); r != nil {
				t.Errorf("%s.%s panicked: %v", name, m.Name, r)
				continue
			}
			if len(out) == 0 || out[len(out)-1].Type() != reflect.TypeFor[error]() {
				continue
			}
			err, _ := out[len(out)-1].Interface().(error)
			switch {
			case m.Name == "Close" && err != nil:
				t.Errorf("%s.Close() = %v, want nil", name, err)
			case m.Name != "Close" && err == nil: // arguments argFor makes may be refused first
				t.Errorf("%s.%s = nil error, want one", name, m.Name)
			}
		}
		out := v.MethodByName("Similar").Call([]reflect.Value{reflect.ValueOf(t.Context()), reflect.ValueOf(soundalike.TrackID("t0000")), reflect.ValueOf(3), reflect.Zero(reflect.TypeFor[*soundalike.SearchOptions]())})
		if err, _ := out[1].Interface().(error); !errors.Is(err, soundalike.ErrClosed) || !strings.Contains(err.Error(), "not made by Open") {
			t.Errorf("%s.Similar = %v, want ErrClosed saying the Engine was not made by Open", name, err)
		}
	}
}

// argFor returns an argument of type typ that no method refuses on its
// own: a live ctx, a func that does nothing, a positive count, else the
// zero value.
func argFor(typ reflect.Type) reflect.Value {
	switch {
	case typ == reflect.TypeFor[context.Context]():
		return reflect.ValueOf(context.Background())
	case typ.Kind() == reflect.Func:
		return reflect.MakeFunc(typ, func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, typ.NumOut())
			for i := range out {
				out[i] = reflect.Zero(typ.Out(i))
			}
			return out
		})
	case typ.Kind() == reflect.Int, typ == reflect.TypeFor[time.Duration]():
		return reflect.ValueOf(1).Convert(typ)
	case typ.Kind() == reflect.String:
		return reflect.ValueOf("t0000").Convert(typ)
	}
	return reflect.Zero(typ)
}

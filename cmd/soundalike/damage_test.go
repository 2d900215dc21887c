package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/dbdamage"
	"github.com/audotics/soundalike/internal/synth"
	bolt "go.etcd.io/bbolt"
)

// damageDB builds a small database with tracks, interactions, a model and
// an index (testDB plus interactions), closes it and returns its path.
func damageDB(t testing.TB) string {
	t.Helper()
	path := testDB(t, 400)
	addRows(t, path, 0, 0, 600)
	return path
}

// addRows imports n interactions (users of the first tracks) and, when
// tracks > 0, that many new tracks numbered from first.
func addRows(t testing.TB, path string, first, tracks, n int) {
	t.Helper()
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	err = eng.Import(context.Background(), func(tx *soundalike.ImportTx) error {
		for i := range tracks {
			if _, _, err := tx.PutTrack(synth.SmallTrack(rng, first+i)); err != nil {
				return err
			}
		}
		for i := range n {
			ia := &soundalike.Interaction{User: fmt.Sprintf("user-%03d", i%60), Track: synth.SmallTrack(rng, i%300).ID, Action: "play"}
			if _, err := tx.PutInteraction(ia); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckCountsAsInfo: check and info count the interactions alike
// when a file lists one twice (testdata/plays.csv: one record of count 2).
func TestCheckCountsAsInfo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.db")
	// plays.csv's rejected rows make the exit code 1; the rest is stored.
	if _, errOut, code := cli(t, "", "import", "--db", db, "../../testdata/spotify_sample.csv", "../../testdata/plays.csv"); code > 1 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	out, _, code := cli(t, "", "check", "--db", db, "--json")
	var r checkJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || !r.OK {
		t.Fatalf("check: exit %d, %s", code, out)
	}
	out, _, code = cli(t, "", "info", "--db", db, "--json")
	var info struct{ Interactions int }
	if err := json.Unmarshal([]byte(out), &info); err != nil || code != 0 {
		t.Fatalf("info: exit %d, %s", code, out)
	}
	if r.Interactions != info.Interactions {
		t.Errorf("check counted %d interactions, info %d: want the same", r.Interactions, info.Interactions)
	}
}

func TestCheckAndBackup(t *testing.T) {
	db := damageDB(t)
	out, _, code := cli(t, "", "check", "--db", db, "--json")
	var r checkJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || !r.OK {
		t.Fatalf("check of a sound file: exit %d, %s", code, out)
	}
	if r.Tracks != 400 || r.Models != 1 || r.Indexed != 400 || r.Interactions == 0 {
		t.Errorf("check counted %+v, want 400 tracks, 1 model, an index of 400, some interactions", r)
	}

	// A backup taken while the same process imports is one of the two
	// states, and passes check.
	eng, err := soundalike.Open(db, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	var wg sync.WaitGroup
	var importErr error
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(9, 9))
		importErr = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			for i := range 300 {
				if _, _, err := tx.PutTrack(synth.SmallTrack(rng, 1000+i)); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if _, err := eng.Backup(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	eng.Close()
	if importErr != nil {
		t.Fatalf("the import beside the backup: %v", importErr)
	}
	out, _, code = cli(t, "", "check", "--db", backup, "--json")
	r = checkJSON{}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check --json of the backup: %v\n%s", err, out)
	}
	if code != 0 || !r.OK || (r.Tracks != 400 && r.Tracks != 700) {
		t.Errorf("check of a backup taken during an import: exit %d, %s; want ok with 400 or 700 tracks", code, out)
	}

	// The command: a copy that passes check, refusing to overwrite the
	// database itself.
	if _, _, code := cli(t, "", "backup", "--db", db, "--out", backup); code != 0 {
		t.Fatalf("backup: exit %d", code)
	}
	if out, _, code := cli(t, "", "check", "--db", backup); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check of the backup: exit %d\n%s", code, out)
	}
	if _, _, err := runCmd(t.Context(), "backup", "--db", db, "--out", db); err == nil || !strings.Contains(err.Error(), "database itself") {
		t.Errorf("backup over the database = %v, want a refusal", err)
	}
	if _, _, err := runCmd(t.Context(), "backup", "--db", db); exitCode(err, &strings.Builder{}) != 2 {
		t.Errorf("backup without --out = %v, want a usage error", err)
	}
}

// damage is one way to damage a copy of the database.
type damage struct {
	name   string
	header bool // the damage is one bbolt detects on every read of the page
	root   bool // the page is the bucket's root, read by every use of it
	apply  func(t testing.TB, path string)
}

func damages(t testing.TB, path string) []damage {
	hw := dbdamage.HighWater(t, path)
	var ds []damage
	for _, size := range []int64{8192, 3 * 4096, hw / 3, hw / 2, hw - 4096} {
		ds = append(ds, damage{fmt.Sprintf("truncated to %d", size), true, true, func(t testing.TB, p string) {
			if err := os.Truncate(p, size); err != nil {
				t.Fatal(err)
			}
		}})
	}
	flip := func(pg uint64, off int64) func(testing.TB, string) {
		return func(t testing.TB, p string) { dbdamage.Flip(t, p, int64(pg)*dbdamage.PageSize+off, 16) }
	}
	all := dbdamage.BucketPages(t, path)
	for _, want := range []string{"tracks", "models", "indexes"} {
		if len(all[want]) == 0 {
			t.Fatalf("bucket %s has no pages of its own to damage (buckets with pages: %v)", want, slices.Collect(maps.Keys(all)))
		}
	}
	for name, ps := range all {
		for i, pg := range []uint64{ps[0], ps[len(ps)-1]} {
			if i == 1 && len(ps) == 1 {
				break
			}
			ds = append(ds,
				damage{fmt.Sprintf("%s page %d header", name, pg), true, i == 0, flip(pg, 0)},
				damage{fmt.Sprintf("%s page %d body", name, pg), false, i == 0, flip(pg, 2000)})
		}
	}
	return ds
}

// readsAll says which buckets a command reads whole, and readsRoot which
// it uses (reading their root page at least), so that damage to a page a
// command reads must fail it.
var (
	readsAll = map[string][]string{
		"similar": {"meta", "tracks", "models", "indexes"},
		"export":  {"meta", "tracks", "models", "indexes"},
		"reindex": {"meta", "tracks", "models", "indexes"},
		"check":   {"meta", "tracks", "interactions", "users", "models", "indexes", "deleted", "nodes"},
	}
	readsRoot = map[string][]string{
		"info":   {"meta", "models", "indexes"},
		"import": {"meta", "tracks", "interactions", "users"},
	}
)

// mustFail reports whether cmd reads what d damages.
func (d damage) mustFail(cmd, bucket string) bool {
	if strings.HasPrefix(d.name, "truncated") {
		return true
	}
	return d.header && (slices.Contains(readsAll[cmd], bucket) || d.root && slices.Contains(readsRoot[cmd], bucket))
}

// TestDamagedFiles damages copies of a small database (truncated at several
// offsets; 16 bytes flipped in the first and last page of each bucket, in
// the header and in the body) and runs every command on each: none may
// panic, one that reads a page whose damage bbolt detects must fail with
// an error that says the file is damaged and names it, and check must fail
// for each such damage. A running engine keeps serving through a reload of
// every damaged copy.
func TestDamagedFiles(t *testing.T) {
	orig := damageDB(t)
	// next is orig one generation later, so that a serving engine reloads.
	next := filepath.Join(t.TempDir(), "next.db")
	dbdamage.Copy(t, orig, next)
	addRows(t, next, 5000, 5, 10)
	track := firstTrack(t, orig)
	csv := filepath.Join(t.TempDir(), "more.csv")
	os.WriteFile(csv, []byte("track_id,track_name,track_artist,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,user_id\n"+
		"new1,A,B,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,120,user-001\n"), 0o600)

	for i, d := range damages(t, next) {
		if testing.Short() && i%3 != 0 {
			continue // a third of them under -short (CI's race run)
		}
		t.Run(d.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "c.db")
			dbdamage.Copy(t, next, db)
			d.apply(t, db)
			bucket := strings.Fields(d.name)[0]
			for _, args := range [][]string{
				{"info"},
				{"similar", "--track", track},
				{"export", "--out", filepath.Join(t.TempDir(), "out.jsonl")},
				{"reindex", "--full"},
				{"import", "--db", "", csv},
				{"check"},
			} {
				fresh := filepath.Join(t.TempDir(), "cmd.db")
				dbdamage.Copy(t, db, fresh)
				if args[0] == "import" {
					args[2] = fresh
				} else {
					args = append(args, "--db", fresh)
				}
				_, _, err := runCmd(t.Context(), args...)
				must := d.mustFail(args[0], bucket)
				switch {
				case must && err == nil:
					t.Errorf("%s on a file with %s: no error", args[0], d.name)
				case err == nil:
				case must && args[0] != "check" && !errors.Is(err, soundalike.ErrDamaged):
					t.Errorf("%s on a file with %s: %v, want an error saying the file is damaged", args[0], d.name, err)
				case errors.Is(err, soundalike.ErrDamaged) && (!strings.Contains(err.Error(), fresh) || !strings.Contains(err.Error(), "soundalike check")):
					t.Errorf("%s: %v, want the file and `soundalike check` named", args[0], err)
				}
				if errors.Is(err, soundalike.ErrNoModel) {
					t.Errorf("%s on a file with %s: %v: damage reported as no model", args[0], d.name, err)
				}
			}
			// A load reads the tracks and the model whole, and the index's
			// root (a catalogue change reuses the graph).
			keepsServing(t, orig, db, track, d.mustFail("reload", bucket) ||
				d.header && (bucket == "tracks" || bucket == "models" || bucket == "indexes" && d.root))
		})
	}
}

// keepsServing serves orig from a Detached engine, puts the damaged copy in
// its place and reloads: the reload must fail (when damaged says the load
// reads the damage) and the engine must keep answering from orig's
// snapshot.
func keepsServing(t *testing.T, orig, damaged, track string, mustFail bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "served.db")
	dbdamage.Copy(t, orig, path)
	eng, err := soundalike.Open(path, &soundalike.Options{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	before, err := eng.Similar(t.Context(), soundalike.TrackID(track), 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	dbdamage.Copy(t, damaged, path)
	_, err = eng.Reload(t.Context())
	if mustFail && err == nil {
		t.Errorf("reload of the damaged file: no error")
	}
	after, qerr := eng.Similar(t.Context(), soundalike.TrackID(track), 5, nil)
	if qerr != nil {
		t.Fatalf("after a reload (%v), similar failed: %v", err, qerr)
	}
	if err != nil && (after.Generation != before.Generation || eng.Stats().ReloadFailures != 1) {
		t.Errorf("after a failed reload: generation %d (want %d), %d failures recorded", after.Generation, before.Generation, eng.Stats().ReloadFailures)
	}
}

func firstTrack(t testing.TB, path string) string {
	t.Helper()
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var id string
	eng.ForEachTrack(t.Context(), func(tr *soundalike.Track) error {
		if id == "" {
			id = string(tr.ID)
		}
		return nil
	})
	return id
}

// An empty --db file is what a missing one is to every command: readers,
// and reindex and train (which need a model or tracks), say there is no
// database yet and leave the path as it was; import lays one out in it.
func TestEmptyDatabaseFile(t *testing.T) {
	for _, args := range [][]string{
		{"info"}, {"similar", "--track", "x"}, {"export"}, {"check"}, {"backup", "--out", "b.db"},
		{"reindex"}, {"train", "--runs", t.TempDir()},
	} {
		for _, missing := range []bool{true, false} {
			db := filepath.Join(t.TempDir(), "empty.db")
			if !missing {
				os.WriteFile(db, nil, 0o600)
			}
			_, _, err := runCmd(t.Context(), append(args, "--db", db)...)
			if !errors.Is(err, soundalike.ErrNoDatabase) || !strings.Contains(err.Error(), "run `soundalike import` to create it") {
				t.Errorf("%s on an empty file (missing %v): %v, want ErrNoDatabase with a hint to import", args[0], missing, err)
			}
			if st, err := os.Stat(db); missing != errors.Is(err, os.ErrNotExist) || err == nil && st.Size() != 0 {
				t.Errorf("%s on an empty file (missing %v) left %v, %v: want the path as it was", args[0], missing, st, err)
			}
		}
	}
	db := filepath.Join(t.TempDir(), "empty.db")
	os.WriteFile(db, nil, 0o600)
	csv := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(csv, []byte("track_id,track_name,track_artist,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo\n"+
		"t1,A,B,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,120\n"), 0o600)
	if _, _, err := runCmd(t.Context(), "import", "--db", db, csv); err != nil {
		t.Fatalf("import into an empty file: %v", err)
	}
	if got := info(t, db); got.Tracks != 1 {
		t.Errorf("after import into an empty file: %d tracks, want 1", got.Tracks)
	}
	if _, _, err := runCmd(t.Context(), "reindex", "--db", db); !errors.Is(err, soundalike.ErrNoModel) {
		t.Errorf("reindex of a database without a model: %v, want ErrNoModel", err)
	}
}

// A corrupt index chunk is damage, never "no model" (issue 14, item 5),
// and its remedy is the command that rebuilds the index: the tracks and
// models are whole, so no backup is to be restored.
func TestCorruptIndexIsNotNoModel(t *testing.T) {
	db := damageDB(t)
	bdb, err := bolt.Open(db, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		var chunks *bolt.Bucket
		tx.Bucket([]byte("indexes")).ForEachBucket(func(k []byte) error {
			chunks = tx.Bucket([]byte("indexes")).Bucket(k).Bucket([]byte("chunks"))
			return nil
		})
		k, v := chunks.Cursor().First()
		bad := append([]byte(nil), v...)
		bad[len(bad)/2] ^= 0xff
		return chunks.Put(k, bad)
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"similar", "--track", firstTrack(t, db)}, {"export"}} {
		_, _, err := runCmd(t.Context(), append(args, "--db", db)...)
		if !errors.Is(err, soundalike.ErrDamaged) || errors.Is(err, soundalike.ErrNoModel) || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("%s with a corrupt index chunk: %v, want a damage error naming the checksum", args[0], err)
		}
		if err == nil {
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, ": rebuild it with `soundalike reindex --full`; `soundalike check`") || strings.Count(msg, db) != 1 {
			t.Errorf("%s with a corrupt index chunk: %q, want the file named once, the rebuild as its remedy and check to list the damage", args[0], msg)
		}
		for _, wrong := range []string{"Engine.", "restore it from a backup", "index: index:"} {
			if strings.Contains(msg, wrong) {
				t.Errorf("%s with a corrupt index chunk: %q says %q", args[0], msg, wrong)
			}
		}
	}
	if out, _, code := cli(t, "", "check", "--db", db); code != 1 || !strings.Contains(out, "checksum") || !strings.Contains(out, "DAMAGED: 1 problem\n") {
		t.Errorf("check with a corrupt index chunk: exit %d\n%s", code, out)
	}
	// The remedy the errors give mends it.
	if _, _, err := runCmd(t.Context(), "reindex", "--full", "--db", db); err != nil {
		t.Fatalf("reindex --full of a corrupt index: %v", err)
	}
	if _, _, err := runCmd(t.Context(), "similar", "--track", firstTrack(t, db), "--db", db); err != nil {
		t.Errorf("similar after reindex --full: %v", err)
	}
}

// Given a file too damaged to open, when checked, expect no counts of
// what was never read; given a sound one, counts in words ("1 model").
func TestCheckCountsOnlyWhatItRead(t *testing.T) {
	db := damageDB(t)
	if out, _, code := cli(t, "", "check", "--db", db); code != 0 || !strings.Contains(out, " tracks, 600 interactions, 1 model, an index of ") {
		t.Errorf("check of a sound file: exit %d\n%s\nwant its counts, 1 model in the singular", code, out)
	}
	cut := filepath.Join(t.TempDir(), "cut.db")
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, b[:100000], 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := cli(t, "", "check", "--db", cut)
	if code != 1 || !strings.Contains(out, "checked       nothing more: the file does not open\n") || strings.Contains(out, "0 tracks") {
		t.Errorf("check of a truncated file: exit %d\n%s\nwant exit 1 and no counts", code, out)
	}
	for path, opened := range map[string]bool{db: true, cut: false} {
		out, _, _ := cli(t, "", "check", "--db", path, "--json")
		var got checkJSON
		if err := json.Unmarshal([]byte(out), &got); err != nil || got.Opened != opened {
			t.Errorf("check --json of %s = %s (%v), want opened %v", path, out, err, opened)
		}
	}
}

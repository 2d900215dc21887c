package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/trainer"
)

// importFile fills a new database with the tracks and interactions of an
// import file and returns its path.
func importFile(t *testing.T, file string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "test.db")
	eng, err := soundalike.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	err = eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		src, err := ingest.Open(file)
		if err != nil {
			return err
		}
		defer src.Close()
		sum, err := ingest.Run(t.Context(), src, tx, nil)
		if err == nil && sum.Rejected > 0 {
			t.Fatalf("import %s: %d rows rejected: %v", file, sum.Rejected, sum.Errors)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

const smallTrain = "--epochs=3 --batch-size=16 --hidden-layers=32,16 --embedding-size=8 --validation-split=0.25"

// TestTrainEvalRuns: train writes its model, run log and plot; eval
// repeats the run's figures; a second version can be kept aside, listed and
// promoted.
func TestTrainEvalRuns(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	dir := t.TempDir()
	// What a train killed while saving its run files leaves, and what
	// one writing beside it right now has.
	stale, fresh := filepath.Join(dir, ".plot-1234"), filepath.Join(dir, ".plot-5678")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("half a png"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	staleLog := filepath.Join(dir, ".soundalike-99")
	os.WriteFile(staleLog, []byte("{"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	os.Chtimes(staleLog, old, old)
	sum := checkTrain(t, db, dir)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale %s after train: %v, want removed", stale, err)
	}
	if _, err := os.Stat(staleLog); !os.IsNotExist(err) {
		t.Errorf("stale %s after train: %v, want removed", staleLog, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh %s after train: %v, want it kept (another train may be writing it)", fresh, err)
	}
	checkEval(t, db, sum)
	checkModels(t, db, dir)
}

// checkTrain runs train with --json and checks its outputs and files.
func checkTrain(t *testing.T, db, dir string) trainJSON {
	t.Helper()
	modelFile := filepath.Join(dir, "model.bin")
	args := append([]string{"train", "--db", db, "--out", modelFile, "--runs", dir, "--json"}, strings.Fields(smallTrain)...)
	stdout, stderr, err := runCmd(t.Context(), args...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "epoch   1/3") || !strings.Contains(stderr, "pairs/s") || !strings.Contains(stderr, "ETA") {
		t.Fatalf("train printed no per-epoch progress line:\n%s", stderr)
	}
	var sum trainJSON
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("train --json: %v\n%s", err, stdout)
	}
	if sum.Version != "v1" || sum.Config.Epochs != 3 || sum.Config.NumTracks == 0 || sum.Metrics.K != 20 {
		t.Fatalf("train --json = %+v, want version v1 with the run's config and metrics", sum)
	}
	// The --out file loads and is the stored model.
	b, err := os.ReadFile(modelFile)
	if err != nil {
		t.Fatal(err)
	}
	m, err := embedder.Unmarshal(b)
	if err != nil || m.Dim() != 8 {
		t.Fatalf("--out file: %v (dim %v), want an 8-d model", err, m)
	}
	// The run files are named after the database (test.db) and version.
	if filepath.Base(sum.Files["log"]) != "test-v1.jsonl" || filepath.Base(sum.Files["plot"]) != "test-v1.png" || !sum.Current {
		t.Fatalf("run files %v, current %v: want test-v1.jsonl and test-v1.png, and v1 current", sum.Files, sum.Current)
	}
	// The JSON Lines log: config, one line per epoch, final.
	lines := readLines(t, sum.Files["log"])
	if len(lines) != 2+sum.Epochs || !strings.Contains(lines[0], `"type":"config"`) || !strings.Contains(lines[0], `"batch_size":16`) ||
		!strings.Contains(lines[1], `"val_loss"`) || !strings.Contains(lines[len(lines)-1], `"type":"final"`) {
		t.Fatalf("run log %s:\n%s", sum.Files["log"], strings.Join(lines, "\n"))
	}
	if fi, err := os.Stat(sum.Files["plot"]); err != nil || fi.Size() < 1000 {
		t.Fatalf("run plot %s: %v", sum.Files["plot"], err)
	}
	return sum
}

// checkEval runs eval and checks it gives the training run's figures.
func checkEval(t *testing.T, db string, sum trainJSON) {
	t.Helper()
	// eval on the model's validation users prints exactly the shape.
	stdout, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--json")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	var shape map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &shape); err != nil {
		t.Fatal(err)
	}
	keys := []string{"model_version", "k", "users", "queries", "model", "raw_features", "same_artist", "random", "mean_pairwise_cosine"}
	for _, k := range keys {
		if _, ok := shape[k]; !ok {
			t.Fatalf("eval --json has no %q: %s", k, stdout)
		}
	}
	if len(shape) != len(keys) {
		t.Fatalf("eval --json has extra keys: %s", stdout)
	}
	var rep eval.Report
	json.Unmarshal([]byte(stdout), &rep)
	if rep.K != 20 || rep.Queries == 0 || rep != sum.Metrics.Report {
		t.Fatalf("eval = %+v, want the training run's final figures %+v", rep, sum.Metrics.Report)
	}

	// --holdout with a file of interactions: the testdata sample itself.
	stdout, stderr, err = runCmd(t.Context(), "eval", "--db", db, "--holdout", "../../trainer/testdata/tracks.csv", "-k", "5")
	if err != nil || !strings.Contains(stdout, "raw_features") || !strings.Contains(stdout, "k=5") {
		t.Fatalf("eval --holdout: %v\n%s\n%s", err, stdout, stderr)
	}
	// The file's lines are limited as import's are, by the same flag.
	_, _, err = runCmd(t.Context(), "eval", "--db", db, "--holdout", "../../trainer/testdata/tracks.csv", "--max-line-bytes", "50")
	if !errors.Is(err, ingest.ErrLineTooLong) || !strings.Contains(err.Error(), "raise --max-line-bytes to ") {
		t.Errorf("eval --holdout of lines over --max-line-bytes 50: %v, want the line named and the flag to raise", err)
	}
	if _, _, err := runCmd(t.Context(), "eval", "--db", db, "--max-line-bytes", "50"); err == nil || !strings.Contains(err.Error(), "--max-line-bytes needs --holdout") {
		t.Errorf("eval --max-line-bytes without --holdout: %v, want a usage error", err)
	}
}

// checkModels trains a second version under --promote never, then lists,
// promotes and rolls back with models and runs.
func checkModels(t *testing.T, db, dir string) {
	t.Helper()
	// A second run under --promote never is stored but v1 stays current.
	stdout, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", dir, "--loss", "cosine", "--seed", "2", "--promote", "never"}, strings.Fields(smallTrain)...)...)
	if err != nil || !strings.Contains(stdout, "v1 stays the current model: --promote never") {
		t.Fatalf("second train: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, _, err = runCmd(t.Context(), "models", "--db", db)
	if err != nil || !strings.Contains(stdout, "v1* ") || !strings.Contains(stdout, "v2 ") {
		t.Fatalf("models: %v\n%s", err, stdout)
	}
	// models promote makes v2 current (and back: a rollback).
	if stdout, _, err = runCmd(t.Context(), "models", "--db", db, "promote", "v2"); err != nil || !strings.Contains(stdout, "v2 is now the current model") {
		t.Fatalf("models promote v2: %v\n%s", err, stdout)
	}
	stdout, _, err = runCmd(t.Context(), "runs", "--db", db)
	if err != nil || !strings.Contains(stdout, "v1 ") || !strings.Contains(stdout, "v2*") || !strings.Contains(stdout, "cosine") {
		t.Fatalf("runs: %v\n%s", err, stdout)
	}
	// Promoting the current model changes nothing, and says so.
	if stdout, _, err = runCmd(t.Context(), "models", "--db", db, "promote", "v2"); err != nil || !strings.Contains(stdout, "v2 is already the current model") || strings.Contains(stdout, "reindex") {
		t.Fatalf("models promote v2 again: %v\n%s", err, stdout)
	}
	if _, _, err = runCmd(t.Context(), "models", "--db", db, "promote", "v9"); err == nil {
		t.Fatal("models promote v9 of 2 versions succeeded")
	}
	stdout, _, err = runCmd(t.Context(), "runs", "--db", db, "--json")
	var rows []runSummary
	if err != nil || json.Unmarshal([]byte(stdout), &rows) != nil || len(rows) != 2 || rows[0].Config.Loss != "contrastive" || !rows[1].Current {
		t.Fatalf("runs --json: %v\n%s", err, stdout)
	}
}

// TestPromotion: under --promote auto a new model becomes current only
// when its validation precision is not below the current one's, both
// measured on the same users (the validation users both runs held out);
// by the figures stored with each, from each run's own users, only when
// the two could not be measured so, and then the reason says why.
func TestPromotion(t *testing.T) {
	cur := &soundalike.ModelInfo{Version: "v3", Metrics: json.RawMessage(`{"k":20,"model":{"precision":0.15}}`)}
	fin := func(p float64) trainer.Final {
		var f trainer.Final
		f.K, f.Model.Precision = 20, p
		return f
	}
	same := func(newP, curP float64) *comparison {
		return &comparison{version: "v3", users: 9, newP: newP, curP: curP}
	}
	apart := &comparison{version: "v3", err: errors.New("v3's run held out none of this run's 9 validation users")}
	for _, tt := range []struct {
		policy string
		cur    *soundalike.ModelInfo
		p      float64
		cmp    *comparison
		want   bool
		why    string
	}{
		{promoteAuto, cur, 0.16, nil, true, "validation precision@20 0.1600 is not below v3's 0.1500"},
		{promoteAuto, cur, 0.15, nil, true, "validation precision@20 0.1500 is not below v3's 0.1500"},
		{promoteAuto, cur, 0.14, nil, false, "the new validation precision@20 0.1400 is below v3's 0.1500"},
		// On the users both runs held out the two score otherwise than
		// each on its own run's.
		{promoteAuto, cur, 0.16, same(0.18, 0.20), false, "the new validation precision@20 0.1800 is below v3's 0.2000, both measured on the same 9 validation users, held out by both runs"},
		{promoteAuto, cur, 0.14, same(0.12, 0.10), true, "validation precision@20 0.1200 is not below v3's 0.1000, both measured on the same 9 validation users, held out by both runs"},
		{promoteAuto, cur, 0.14, same(0.14, 0.14), true, "validation precision@20 0.1400 is not below v3's 0.1400, both measured on the same 9 validation users, held out by both runs"},
		{promoteAuto, &soundalike.ModelInfo{Version: "v3"}, 0.01, same(0.01, 0.30), false, "the new validation precision@20 0.0100 is below v3's 0.3000, both measured on the same 9 validation users, held out by both runs"},
		{promoteAuto, cur, 0.16, apart, true, "validation precision@20 0.1600 is not below v3's 0.1500 (on different users, each run's own, since v3's run held out none of this run's 9 validation users)"},
		{promoteAlways, cur, 0.01, same(0.01, 0.30), true, "--promote always"},
		{promoteNever, cur, 0.99, same(0.99, 0.01), false, "--promote never"},
		{promoteNever, nil, 0.01, nil, true, "there was no current model"}, // the first model is always current
		{promoteAuto, &soundalike.ModelInfo{Version: "v1"}, 0.01, nil, true, "the current model v1 has no validation figures to compare"},
	} {
		if got, why := promotion(tt.policy, tt.cur, fin(tt.p), tt.cmp); got != tt.want || why != tt.why {
			t.Errorf("promotion(%s, precision %v, %+v) = %v, %q; want %v, %q", tt.policy, tt.p, tt.cmp, got, why, tt.want, tt.why)
		}
	}
}

// TestPromotionWithoutFigures: under --promote auto a run that has no
// validation figures (or has them at another k) does not replace a model
// that has them, and says so rather than compare a precision@0.
func TestPromotionWithoutFigures(t *testing.T) {
	cur := &soundalike.ModelInfo{Version: "v3", Metrics: json.RawMessage(`{"k":20,"model":{"precision":0.15}}`)}
	var none, at10 trainer.Final
	at10.K, at10.Model.Precision = 10, 0.5
	for _, tt := range []struct {
		fin  trainer.Final
		want string
	}{
		{none, "the new model has no validation figures to compare with v3's precision@20 0.1500"},
		{at10, "the new validation precision@10 cannot be compared with v3's precision@20"},
	} {
		got, why := promotion(promoteAuto, cur, tt.fin, nil)
		if got || why != tt.want {
			t.Errorf("promotion(auto, k %d) = %v, %q; want false, %q", tt.fin.K, got, why, tt.want)
		}
	}
}

// Given a current model with validation figures, when a run without any
// (one user, so none held out) is trained under --promote auto, expect the
// current model kept, and the report saying why and how to promote the new
// version by hand.
func TestTrainWithoutFiguresKeepsCurrent(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	log := "user_id,track_id,action,timestamp\n"
	for _, l := range readLines(t, "../../trainer/testdata/tracks.csv")[1:31] {
		log += fmt.Sprintf("only,%s,like,2024-03-01T12:00:00Z\n", strings.Split(l, ",")[0])
	}
	if _, stderr, err := runCmdStdin(t.Context(), log, "import", "--db", db, "-"); err != nil {
		t.Fatalf("import the likes: %v\n%s", err, stderr)
	}
	stdout, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir(), "--actions", "like"}, strings.Fields(smallTrain)...)...)
	want := "v1 stays the current model: the new model has no validation figures to compare with v1's precision@20"
	if err != nil || !strings.Contains(stdout, want) || !strings.Contains(stdout, "soundalike models promote v2 makes v2 current") || strings.Contains(stdout, "@0") {
		t.Fatalf("train without figures = %v\n%s%s\nwant %q and how to promote v2", err, stdout, stderr, want)
	}
	out, _, err := runCmd(t.Context(), "models", "--db", db, "--json")
	var models []struct {
		Version string
		Current bool
	}
	if err != nil || json.Unmarshal([]byte(out), &models) != nil || len(models) != 2 || !models[0].Current || models[1].Current {
		t.Fatalf("models = %s (%v), want v1 current and v2 not", out, err)
	}
}

// Given a current model v1 and a run whose seed holds out other
// validation users (a few of them v1's too), when the run is trained
// under --promote auto, expect the decision made by the two models'
// precision on the users both runs held out, as eval measures a model on
// given users, and the reason saying how many users both were measured
// on. The seeds are chosen so that the figures stored with each, from
// each run's own users, decide otherwise: on those v2 is below v1, and
// the comparison this replaced kept v1 here.
func TestPromotionComparesOnTheSameUsers(t *testing.T) {
	db := importFile(t, "../../testdata/spotify_sample.csv")
	train := func(seed string) trainJSON {
		t.Helper()
		stdout, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir(), "--seed", seed, "--json"}, strings.Fields(smallTrain)...)...)
		var out trainJSON
		if err != nil || json.Unmarshal([]byte(stdout), &out) != nil || out.Metrics.K == 0 {
			t.Fatalf("train --seed %s = %v\n%s%s\nwant a run with validation figures", seed, err, stdout, stderr)
		}
		return out
	}
	v1, v2 := train("2"), train("3")

	// Both models on the users both runs held out, measured as eval
	// measures a model on the users it is given.
	eng, err := soundalike.Open(db, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	held := make(map[string]int)
	for _, v := range []string{"v1", "v2"} {
		users, err := validationUsers(t.Context(), eng, v)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			held[u]++
		}
	}
	tracks, err := eng.Tracks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ins, err := eng.Interactions(t.Context(), v2.Config.Actions)
	if err != nil {
		t.Fatal(err)
	}
	names, users, _ := eval.GroupUsers(tracks, ins, v2.Config.Actions, func(u string) bool { return held[u] == 2 })
	precision := func(version string) float64 {
		m, _, err := eng.LoadModel(t.Context(), version)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := eval.Evaluate(m, tracks, users, &eval.Options{K: v2.Metrics.K, Seed: v2.Config.Seed})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Model.Precision
	}
	p2, p1 := precision("v2"), precision("v1")

	own2, own1 := v2.Metrics.Model.Precision, v1.Metrics.Model.Precision
	if len(names) == 0 || len(names) == v2.Config.NumValUsers || (own2 >= own1) == (p2 >= p1) {
		t.Fatalf("%d of v2's %d validation users held out by both runs; v2 %.4f and v1 %.4f on them, %.4f and %.4f each on its own: this case cannot tell the comparisons apart (pick other seeds)",
			len(names), v2.Config.NumValUsers, p2, p1, own2, own1)
	}
	t.Logf("of the %d users the run of seed 3 held out, the run of seed 2 held out %d and trained on %d: v2 %.4f and v1 %.4f on those %d, %.4f and %.4f each on its own",
		v2.Config.NumValUsers, len(names), v2.Config.NumValUsers-len(names), p2, p1, len(names), own2, own1)
	want := fmt.Sprintf("%.4f is below v1's %.4f, both measured on the same %d validation users, held out by both runs", p2, p1, len(names))
	if p2 >= p1 {
		want = fmt.Sprintf("%.4f is not below v1's %.4f, both measured on the same %d validation users, held out by both runs", p2, p1, len(names))
	}
	if v2.Current != (p2 >= p1) || !strings.Contains(v2.Promotion, want) {
		t.Errorf("train --promote auto: current %v, %q; want current %v and the reason saying %q (each on its own run's users: v2 %.4f, v1 %.4f)",
			v2.Current, v2.Promotion, p2 >= p1, want, own2, own1)
	}
}

// TestRunFileStem: run files of two databases in one folder differ.
func TestRunFileStem(t *testing.T) {
	for db, want := range map[string]string{"/d/dev.db": "dev-v3", "/d/prod.bolt": "prod-v3", "/d/plain": "plain-v3", "/d/.hidden": ".hidden-v3"} {
		if got := runFileStem(db, "v3"); got != want {
			t.Errorf("runFileStem(%s) = %s, want %s", db, got, want)
		}
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestTrainFlagErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	for _, tt := range []struct{ args, flag string }{
		{"--epochs=-1", "--epochs"},
		{"--validation-split=1.5", "--validation-split"},
		{"--embedding-size=1", "--embedding-size"},
		{"--hidden-layers=128,,x", "--hidden-layers"},
		{"--loss=mse", "--loss"},
		{"--features=everything", "--features"},
		{"--actions=skip", "--actions"},
		{"--actions=like,,play", "--actions: entry 2 of 3 is empty"},
		{"--direct=artists,", "--direct: entry 2 of 2 is empty"},
		{"--max-pairs-per-user=0", "--max-pairs-per-user"},
		{"--dropout-rate=1", "--dropout-rate"},
		{"--batch-size=1", "--batch-size"},
		{"--learning-rate=-0.1", "--learning-rate"},
	} {
		_, _, err := runCmd(t.Context(), "train", "--db", db, tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("train %s = %v, want an error naming %s", tt.args, err, tt.flag)
		}
		if exitCode(err, &bytes.Buffer{}) != 2 {
			t.Errorf("train %s: exit code %d, want 2", tt.args, exitCode(err, &bytes.Buffer{}))
		}
	}
	for _, tt := range []struct{ args, flag string }{{"-k=0", "-k"}, {"--queries=0", "--queries"}, {"--model=x", "--model"}} {
		if _, _, err := runCmd(t.Context(), "eval", "--db", db, tt.args); err == nil || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("eval %s = %v, want an error naming %s", tt.args, err, tt.flag)
		}
	}
}

// TestTrainSyntheticThenEval: a catalogue without interactions trains on
// the original's synthetic users with a loud warning; eval then needs
// --holdout, and with it measures against real users.
func TestTrainSyntheticThenEval(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tracks-only.db")
	const file = "../../trainer/testdata/tracks.csv"
	if _, stderr, err := runCmd(t.Context(), "import", "--db", db, "--no-interactions", file); err != nil {
		t.Fatalf("import --no-interactions: %v\n%s", err, stderr)
	}
	_, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "WARNING: NO USABLE INTERACTIONS") || !strings.Contains(stderr, "NOTHING REAL") {
		t.Fatalf("train on synthetic users did not warn loudly:\n%s", stderr)
	}
	if _, _, err := runCmd(t.Context(), "eval", "--db", db); err == nil || !strings.Contains(err.Error(), "--holdout") {
		t.Fatalf("eval of a synthetic-user model = %v, want an error asking for --holdout", err)
	}
	stdout, stderr, err := runCmd(t.Context(), "eval", "--db", db, "--holdout", file, "--json")
	if err != nil || !strings.Contains(stdout, `"raw_features"`) {
		t.Fatalf("eval --holdout: %v\n%s\n%s", err, stdout, stderr)
	}
}

// Given --actions spelt as import accepts them, or naming an action of the
// app's own that the database holds, when train, expect it to train on
// them under their stored names. Given a name that no interaction has, a
// skip, or names that select none of the database's interactions, expect
// an error naming --actions and what is accepted, and no model stored.
func TestTrainActions(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv") // plays only
	ids := readLines(t, "../../trainer/testdata/tracks.csv")[1:]
	log := "user_id,track_id,action,timestamp\n"
	for u := range 10 {
		for i := range 4 {
			log += fmt.Sprintf("u%d,%s,share,2024-03-01T12:00:0%dZ\n", u, strings.Split(ids[u*4+i], ",")[0], i)
		}
	}
	if _, stderr, err := runCmdStdin(t.Context(), log, "import", "--db", db, "-"); err != nil {
		t.Fatalf("import the shares: %v\n%s", err, stderr)
	}
	for _, tc := range []struct {
		actions, want string
		usage         bool
	}{
		{"foo", `no such action "foo"`, true},
		{"likes", `no such action "likes"`, true},
		{"play,foo,bar", `no such action "foo", "bar"`, true},
		{"skipped", `"skipped" is a skip`, true},
		{"like", "--actions like selects none of the 200 interactions", false},
		{"add_to_playlist, liked", "--actions addToPlaylist,like selects none of the 200 interactions", false},
	} {
		t.Run(tc.actions, func(t *testing.T) {
			args := append([]string{"train", "--db", db, "--runs", t.TempDir(), "--actions", tc.actions}, strings.Fields(smallTrain)...)
			_, _, err := runCmd(t.Context(), args...)
			if err == nil || !strings.Contains(err.Error(), "--actions") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("train --actions %q = %v, want an error naming --actions saying %q", tc.actions, err, tc.want)
			}
			if tc.usage && (!strings.Contains(err.Error(), "play, like and addToPlaylist") || exitCode(err, io.Discard) != 2) {
				t.Errorf("train --actions %q = %v, want a usage error listing play, like and addToPlaylist", tc.actions, err)
			}
			// Refused as a flag's value is: the flag and its value as
			// given, then the pointer to train -h.
			if tc.usage && (!strings.HasPrefix(err.Error(), "--actions "+quoteText(tc.actions)+": ") || !strings.HasSuffix(err.Error(), "\nRun `soundalike train -h` for the command's flags.")) {
				t.Errorf("train --actions %q = %v, want it refused as a flag value, with the pointer to train -h", tc.actions, err)
			}
			if !tc.usage && !strings.Contains(err.Error(), "play 160, share 40") {
				t.Errorf("train --actions %q = %v, want the actions the database holds", tc.actions, err)
			}
			if stdout, _, err := runCmd(t.Context(), "models", "--db", db, "--json"); err != nil || strings.TrimSpace(stdout) != "[]" {
				t.Errorf("models after train --actions %q = %s (%v), want none stored", tc.actions, stdout, err)
			}
		})
	}
	args := append([]string{"train", "--db", db, "--runs", t.TempDir(), "--actions", "Played, share,play", "--json"}, strings.Fields(smallTrain)...)
	stdout, stderr, err := runCmd(t.Context(), args...)
	var sum trainJSON
	if err != nil || json.Unmarshal([]byte(stdout), &sum) != nil {
		t.Fatalf("train --actions 'Played, share,play': %v\n%s\n%s", err, stdout, stderr)
	}
	if got := strings.Join(sum.Config.Actions, ","); got != "play,share" || sum.Config.Synthetic {
		t.Errorf("train --actions 'Played, share,play' trained on %s (synthetic users %v), want play,share and real users", got, sum.Config.Synthetic)
	}
}

// lockAtSave is train's standard error in TestTrainWaitsToSave. When train
// says it has read its data it takes the database's lock, as a batch job
// starting meanwhile would; it lets go only when train says it will try
// the save again, that is after a whole --lock-timeout of waiting.
type lockAtSave struct {
	t       *testing.T
	db      string
	mu      sync.Mutex
	text    strings.Builder
	release func()
	retried bool
}

func (w *lockAtSave) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	switch {
	case strings.HasPrefix(string(p), "training on"):
		w.release = holdDB(w.t, w.db, "soundalike import")
	case strings.Contains(string(p), "train tries again") && w.release != nil:
		w.retried = true
		w.release()
	}
	return len(p), nil
}

// Given another process holding the database when a run has finished,
// when train comes to store the model, expect it to wait past
// --lock-timeout, saying so, and store the model once the lock is gone.
func TestTrainWaitsToSave(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	stderr := &lockAtSave{t: t, db: db}
	var stdout strings.Builder
	args := append([]string{"train", "--db", db, "--runs", t.TempDir(), "--lock-timeout", "300ms"}, strings.Fields(smallTrain)...)
	err := run(t.Context(), args, strings.NewReader(""), &stdout, stderr)
	if err != nil {
		t.Fatalf("train while another process holds the database at the save = %v, want the model saved\n%s", err, stderr.text.String())
	}
	if !stderr.retried || !strings.Contains(stderr.text.String(), "held by soundalike import (pid") {
		t.Errorf("stderr = %q, want the wait naming the holder and the save tried again", stderr.text.String())
	}
	if !strings.Contains(stdout.String(), "v1 is now the current model") {
		t.Errorf("stdout = %q, want v1 stored and current", stdout.String())
	}
	if out, _, err := runCmd(t.Context(), "models", "--db", db); err != nil || !strings.Contains(out, "v1*") {
		t.Errorf("models = %s (%v), want v1 current", out, err)
	}
}

// A baseline that scored 0 (a tiny held-out set) has no ratio: the
// reports print "—", not "0.00×", which would claim the model scored 0
// times the baseline.
func TestTimesWithoutABaseline(t *testing.T) {
	for _, c := range []struct {
		a, b float64
		want string
	}{{0.3, 0.1, "3.00×"}, {0.3, 0, "—"}, {0, 0, "—"}, {0, 0.2, "0.00×"}} {
		if got := times(c.a, c.b); got != c.want {
			t.Errorf("times(%v, %v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

// Given a database of one user, when train (no user is left to hold out,
// so no epoch has a validation figure), expect each epoch's line and
// record to show none ("-", null), the run's history stored with the
// model (its epochs, read back by runs) and its log and plot written, and
// the last epoch kept.
func TestTrainWithoutValidation(t *testing.T) {
	db := filepath.Join(t.TempDir(), "one-user.db")
	const file = "../../trainer/testdata/tracks.csv"
	if _, stderr, err := runCmd(t.Context(), "import", "--db", db, "--no-interactions", file); err != nil {
		t.Fatalf("import --no-interactions: %v\n%s", err, stderr)
	}
	log := "user_id,track_id,action,timestamp\n"
	for _, l := range readLines(t, file)[1:41] {
		log += fmt.Sprintf("only,%s,play,2024-03-01T12:00:00Z\n", strings.Split(l, ",")[0])
	}
	if _, stderr, err := runCmdStdin(t.Context(), log, "import", "--db", db, "-"); err != nil {
		t.Fatalf("import the plays: %v\n%s", err, stderr)
	}
	dir := t.TempDir()
	stdout, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", dir, "--json"}, strings.Fields(smallTrain)...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	var sum trainJSON
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("train --json: %v\n%s", err, stdout)
	}
	if strings.Contains(stderr, "warning:") || sum.Files["log"] == "" || sum.Files["plot"] == "" {
		t.Fatalf("train wrote files %v, stderr:\n%s\nwant the run log and plot written without a warning", sum.Files, stderr)
	}
	if lines := readLines(t, sum.Files["log"]); len(lines) != 2+3 || !strings.Contains(lines[1], `"val_loss":null,"val_precision_at_k":null,"val_recall_at_k":null`) {
		t.Fatalf("run log:\n%s\nwant config, 3 epochs with the validation figures null, final", strings.Join(lines, "\n"))
	}
	// Each epoch's line says it has no validation figures: 0.0000 read as measured.
	epochs := 0
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, "epoch ") {
			epochs++
			if !strings.Contains(line, "val_loss -  val p@20 -  r@20 -  ") {
				t.Errorf("train printed %q, want \"val_loss -  val p@20 -  r@20 -\": the epoch has no validation figures", line)
			}
		}
	}
	if epochs != 3 {
		t.Errorf("train printed %d epoch lines, want 3:\n%s", epochs, stderr)
	}
	// The human report says there are no figures rather than print zeros at k=0.
	stdout, _, err = runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", dir, "--promote", "never"}, strings.Fields(smallTrain)...)...)
	if err != nil || !strings.Contains(stdout, "no validation figures: 0 users held out") || strings.Contains(stdout, "@0") {
		t.Fatalf("train = %v\n%s\nwant \"no validation figures\" and no figures at k=0", err, stdout)
	}
	out, _, err := runCmd(t.Context(), "runs", "--db", db, "--json")
	var runs []runSummary
	if err != nil || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 2 {
		t.Fatalf("runs --json = %s (%v), want two runs", out, err)
	}
	if runs[0].EpochsRun != 3 || runs[0].BestEpoch != 3 {
		t.Fatalf("runs: %d epochs run, best %d; want the stored history's 3, best 3 (the last: no validation figures)", runs[0].EpochsRun, runs[0].BestEpoch)
	}
}

// cancelAt is train's standard error in TestTrainInterrupted: it cancels
// the run (as Ctrl-C does) when train reports its first epoch.
type cancelAt struct {
	mu     sync.Mutex
	text   strings.Builder
	cancel func()
}

func (w *cancelAt) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	if strings.HasPrefix(string(p), "epoch   1/") {
		w.cancel()
	}
	return len(p), nil
}

// Given a train interrupted (Ctrl-C) after its first epoch, expect an
// error that says in which epoch it stopped and that nothing was stored,
// still wrapping context.Canceled, and no model version in the database.
func TestTrainInterrupted(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelAt{cancel: cancel}
	args := []string{"train", "--db", db, "--runs", t.TempDir(), "--epochs", "5", "--batch-size", "16", "--hidden-layers", "32,16", "--embedding-size", "8"}
	err := run(ctx, args, strings.NewReader(""), io.Discard, stderr)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted in epoch 2 of 5") || !strings.Contains(err.Error(), db+" is unchanged") {
		t.Fatalf("train interrupted after epoch 1 = %v, want context.Canceled saying epoch 2 of 5 and that %s is unchanged\n%s", err, db, stderr.text.String())
	}
	if out, _, err := runCmd(t.Context(), "models", "--db", db, "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("models after an interrupted train = %s (%v), want none", out, err)
	}
}

// A collapsed run's report advises what would help under its loss: the
// contrastive loss is never told to switch to itself.
func TestCollapseAdvice(t *testing.T) {
	for loss, want := range map[string]string{trainer.LossContrastive: "--temperature", trainer.LossCosine: "--loss contrastive"} {
		res := &trainer.Result{Collapsed: true, Config: trainer.RunConfig{Loss: loss}}
		var b strings.Builder
		printTrainReport(&b, res, trainJSON{}, true)
		if !strings.Contains(b.String(), "collapsed") || !strings.Contains(b.String(), want) || loss == trainer.LossContrastive && strings.Contains(b.String(), "--loss") {
			t.Errorf("report of a collapsed %s run:\n%s\nwant advice naming %s", loss, b.String(), want)
		}
	}
}

// The report gives the kept epoch's validation precision beside the
// final one and, when the final is on more queries, says why they differ:
// 0.5643 on the epochs' 300 queries, 0.5456 on 1234.
func TestTrainReportExplainsTwoPrecisions(t *testing.T) {
	epochs := []trainer.EpochMetrics{{Epoch: 1, ValPrecision: 0.41}, {Epoch: 2, ValPrecision: 0.5643}}
	for _, tc := range []struct {
		epochQueries, finalQueries int
		want, not                  []string
	}{
		{300, 1234, []string{"best epoch 2 (val p@20 0.5643 on the 300 queries each epoch is scored on)\n", "the kept model on 1234 queries, those 300 and more", "another sample", "1234 queries, k=20", "model 0.5456"}, nil},
		{85, 85, []string{"best epoch 2 (val p@20 0.5643)\n"}, []string{"another sample"}},
	} {
		res := &trainer.Result{Epochs: epochs, BestEpoch: 2, EpochQueries: tc.epochQueries, ValidationUsers: []string{"a", "b"}}
		res.Final.K, res.Final.Queries, res.Final.Model.Precision = 20, tc.finalQueries, 0.5456
		var b strings.Builder
		printTrainReport(&b, res, trainJSON{}, true)
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("report with %d epoch queries, %d final:\n%s\nwant %q", tc.epochQueries, tc.finalQueries, b.String(), w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(b.String(), w) {
				t.Errorf("report with %d epoch queries, %d final:\n%s\nwant no %q: the figures are on the same queries", tc.epochQueries, tc.finalQueries, b.String(), w)
			}
		}
	}
}

// Given a flag for what the run does not have (a metadata table flag
// under --features spotify11 or audio+extras, --temperature under --loss
// cosine, --direct name without name tokens), when train, expect a usage
// error naming the flag and what it needs, before any training.
func TestTrainRefusesFlagsThatDoNotApply(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	out := filepath.Join(t.TempDir(), "t.bin")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--features", "spotify11", "--direct", "artists,album", "--name-tokens", "8", "--token-dim", "16"},
			[]string{"--direct needs --features auto", "--name-tokens needs --features auto", "--token-dim needs --features auto", "--features spotify11 has none"}},
		{[]string{"--features", "audio+extras", "--token-buckets", "64", "--vocab-min-count", "2", "--table-rate-scale", "2", "--table-weight-decay", "0.1"},
			[]string{"--token-buckets needs --features auto", "--vocab-min-count needs --features auto", "--table-rate-scale needs --features auto", "--table-weight-decay needs --features auto"}},
		{[]string{"--loss", "cosine", "--temperature", "0.2"}, []string{"--temperature needs --loss contrastive"}},
		{[]string{"--direct", "artists,name"}, []string{"--direct name needs --name-tokens above 0"}},
	} {
		args := append([]string{"train", "--db", db, "--no-save", "--out", out, "--runs", t.TempDir(), "--epochs", "1"}, tc.args...)
		_, stderr, code := cli(t, "", args...)
		if code != 2 {
			t.Errorf("train %q: exit %d, want 2\n%s", tc.args, code, stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("train %q: %q lacks %q", tc.args, stderr, w)
			}
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s after refused runs: %v, want no model written", out, err)
	}
	// What does apply is taken: the auto features' flags, name tokens
	// with the name table.
	args := append([]string{"train", "--db", db, "--no-save", "--out", out, "--runs", t.TempDir(), "--direct", "artists,name", "--name-tokens", "2", "--token-dim", "4"}, strings.Fields(smallTrain)...)
	if _, stderr, code := cli(t, "", args...); code != 0 {
		t.Errorf("train --direct artists,name --name-tokens 2 --token-dim 4: exit %d, want 0\n%s", code, stderr)
	}
}

// Given --runs in a directory that does not exist, when train, expect a
// usage error naming --runs and the missing directory, before training,
// and nothing created; given a new directory in one that exists, expect
// it created with the run files in it.
func TestTrainRunsDirectory(t *testing.T) {
	db := importFile(t, "../../trainer/testdata/tracks.csv")
	tmp := t.TempDir()
	runs := filepath.Join(tmp, "missing", "runs")
	_, stderr, code := cli(t, "", append([]string{"train", "--db", db, "--runs", runs}, strings.Fields(smallTrain)...)...)
	want := "--runs " + runs + ": the directory " + filepath.Join(tmp, "missing") + "/ does not exist"
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("train --runs %s: exit %d, %q; want 2 and %q", runs, code, stderr, want)
	}
	if _, err := os.Stat(filepath.Join(tmp, "missing")); !os.IsNotExist(err) {
		t.Errorf("%s after a refused --runs: %v, want it not created", filepath.Join(tmp, "missing"), err)
	}
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, nil, 0o600)
	for _, dir := range []string{file, filepath.Join(file, "runs")} {
		if _, stderr, code := cli(t, "", append([]string{"train", "--db", db, "--runs", dir}, strings.Fields(smallTrain)...)...); code != 2 || !strings.Contains(stderr, "is not a directory") {
			t.Errorf("train --runs %s: exit %d, %q; want 2 and not a directory", dir, code, stderr)
		}
	}
	runs = filepath.Join(tmp, "runs")
	stdout, stderr, code := cli(t, "", append([]string{"train", "--db", db, "--runs", runs, "--json"}, strings.Fields(smallTrain)...)...)
	var sum trainJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &sum) != nil || filepath.Dir(sum.Files["log"]) != runs {
		t.Errorf("train --runs %s: exit %d, files %v; want the run log in %s\n%s", runs, code, sum.Files, runs, stderr)
	}
}

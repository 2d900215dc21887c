package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/internal/devdata"
)

// loadSample reads testdata/tracks.csv: every row of four whole playlists
// (one per genre: rap, latin, pop, rock) of the shared dev file.
func loadSample(t testing.TB) ([]soundalike.Track, []soundalike.Interaction) {
	t.Helper()
	tracks, ins, err := devdata.Load("testdata/tracks.csv")
	if err != nil {
		t.Fatal(err)
	}
	return tracks, ins
}

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Epochs = 3
	cfg.BatchSize = 16
	cfg.HiddenLayers = []int{32, 16}
	cfg.EmbeddingSize = 8
	cfg.ValidationSplit = 0.25
	cfg.MaxPairsPerUser = 100
	cfg.Seed = 7
	cfg.NameTokens = 8 // every metadata table is exercised
	return cfg
}

// TestParity: gorgonia's forward pass (inference mode: no dropout) and the
// pure-Go embedder give the same embeddings, within 1e-5 per component, on
// the testdata tracks, for a model trained by Train.
func TestParity(t *testing.T) {
	tracks, ins := loadSample(t)
	res, err := Train(t.Context(), tracks, ins, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	names := m.Inputs()
	// Compare on the shared testdata sample (other tracks than trained on).
	tracks, _, err = devdata.Load("../testdata/spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	n := len(tracks)
	batch := (n + 1) / 2
	cfg := smallConfig()
	nt, err := newNet(batch, m.NumericWidth(), modelTables(m), cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, m.Layers(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	if len(nt.tables) != 3 {
		t.Fatalf("the default features learn %d tables, want 3 (artists, album, name)", len(nt.tables))
	}
	in := nt.input()
	w := m.NumericWidth()
	var raws [][]float32
	var tok []int
	for i := range tracks {
		raw, err := soundalike.RawInputs(&tracks[i], names, nil)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
		copy(in[i*w:(i+1)*w], m.Prepare(raw, nil))
		for ti, lk := range nt.tables {
			lk.set(i, m.TokenRows(ti, raw, tok))
		}
	}
	nt.setDropout(false, nil)
	if _, err := nt.run(false); err != nil {
		t.Fatal(err)
	}
	got := nt.embeddings()
	dim := m.Dim()
	worst := 0.0
	for i := range tracks {
		want, err := m.Embed(raws[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := range want {
			d := math.Abs(float64(got[i*dim+j] - want[j]))
			worst = max(worst, d)
			if d > 1e-5 {
				t.Fatalf("track %s component %d: gorgonia %v, embedder %v", tracks[i].ID, j, got[i*dim+j], want[j])
			}
		}
	}
	t.Logf("%d tracks, largest difference %.2g", n, worst)
}

// modelTables returns m's tables with the number of token slots of each.
func modelTables(m *embedder.Model) []tableInput {
	var out []tableInput
	specs := m.InputSpecs()
	for ti, t := range m.Tables() {
		slots := 0
		for _, in := range specs {
			if in.Encoding == embedder.Token && in.Table == ti {
				slots++
			}
		}
		out = append(out, tableInput{Table: t, Slots: slots})
	}
	return out
}

// TestGraphMatchesHandWritten: the gorgonia graph's loss and weights match
// the hand-written gonum network's on the same weights and batches, which
// checks the graph's loss and gradients (both apply the trainer's Adam,
// which TestLayerStepMatchesGorgonia checks against gorgonia's).
func TestGraphMatchesHandWritten(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DropoutRate = 0
	cfg.BatchSize = 8
	cfg.HiddenLayers = []int{16, 8}
	cfg.EmbeddingSize = 4
	const width = 5
	rng := rand.New(rand.NewPCG(3, 3))
	nt, err := newNet(cfg.BatchSize, width, nil, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, rng)
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	h := newHandNet(cfg.BatchSize, width, cfg.HiddenLayers, cfg.EmbeddingSize, cfg.LossTemperature(), cfg.LearningRate, nt.layers())
	for _, m := range h.masks {
		for i := range m {
			m[i] = 1
		}
	}
	for step := 0; step < 5; step++ {
		x := benchInput(2*cfg.BatchSize, width)
		for i := range x {
			x[i] += float32(step)
		}
		copy(nt.input(), x)
		copy(h.h[0], x)
		gl, err := nt.run(true)
		if err != nil {
			t.Fatal(err)
		}
		hl := h.step(true)
		if math.Abs(float64(gl-hl)) > 1e-4 {
			t.Fatalf("step %d: gorgonia loss %v, hand-written %v", step, gl, hl)
		}
	}
	for l, layer := range nt.layers() {
		for i, w := range layer.W {
			if math.Abs(float64(w-h.w[l][i])) > 1e-4 {
				t.Fatalf("after 5 steps, layer %d weight %d: gorgonia %v, hand-written %v", l, i, w, h.w[l][i])
			}
		}
	}
}

func TestTrainReproducible(t *testing.T) {
	tracks, ins := loadSample(t)
	a, err := Train(t.Context(), tracks, ins, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(t.Context(), tracks, ins, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Epochs {
		ea, eb := a.Epochs[i], b.Epochs[i]
		if ea.Loss != eb.Loss || ea.ValLoss != eb.ValLoss || ea.ValPrecision != eb.ValPrecision || ea.Spread != eb.Spread {
			t.Fatalf("epoch %d differs between two runs with the same seed: %+v vs %+v", i+1, ea, eb)
		}
	}
	if string(a.Model.Marshal()) != string(b.Model.Marshal()) {
		t.Fatal("the same seed gave different models")
	}
	if !slices.IsSorted(a.ValidationUsers) || len(a.ValidationUsers) == 0 {
		t.Fatalf("ValidationUsers = %q, want them sorted (eval samples queries in that order)", a.ValidationUsers)
	}
	if a.Config.NumTracks != len(tracks) || a.Config.FeatureDim != a.Model.EncodedWidth() || a.Config.NumSimilarPairs == 0 {
		t.Fatalf("config record %+v does not describe the run", a.Config)
	}
}

// TestEvaluateOnTheRunsUsers: Result.Evaluate measures a model as Final
// measured the run's own: the run's model scores its Final to the bit;
// another run's model, measured on this run's users, beside this run's
// baselines on the same queries. A catalogue other than the run's, a run
// without validation figures or a Result not from Train is an error.
func TestEvaluateOnTheRunsUsers(t *testing.T) {
	tracks, ins := loadSample(t)
	a, err := Train(t.Context(), tracks, ins, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig()
	cfg.Seed = 1
	b, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.ValidationUsers, b.ValidationUsers) {
		t.Fatalf("seeds %d and %d held out the same users %q: pick seeds that tell the runs apart", smallConfig().Seed, cfg.Seed, a.ValidationUsers)
	}
	// Final is Evaluate with no filter; a filter keeping everyone must
	// agree with it.
	if got, err := a.Evaluate(a.Model, tracks, func(string) bool { return true }); err != nil || got != a.Final.Report {
		t.Errorf("run A's Evaluate(its own model, all its users) = %+v, %v; want its Final %+v", got, err, a.Final.Report)
	}
	if _, err := a.Evaluate(a.Model, tracks, func(string) bool { return false }); !errors.Is(err, eval.ErrNoQueries) {
		t.Errorf("Evaluate on none of the users = %v, want eval.ErrNoQueries", err)
	}
	got, err := b.Evaluate(a.Model, tracks, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := b.Final.Report
	if got.K != f.K || got.Queries != f.Queries || got.RawFeatures != f.RawFeatures || got.SameArtist != f.SameArtist || got.Random != f.Random {
		t.Errorf("run B's Evaluate(A's model) = %+v; want B's k, queries and baselines, %+v", got, f)
	}
	if got.Model == a.Final.Model {
		t.Errorf("A's model scores %+v on B's users as on its own: the users were not B's", got.Model)
	}

	for _, c := range []struct {
		name   string
		res    *Result
		tracks []soundalike.Track
		want   string
	}{
		{"another catalogue", a, tracks[:len(tracks)-1], "want the catalogue Train was given"},
		{"a Result not from Train", &Result{}, tracks, "want a Result from Train"},
		{"a run without figures", &Result{NoValidation: "1 user, none held out"}, tracks, "the run has no validation figures"},
	} {
		if _, err := c.res.Evaluate(a.Model, c.tracks, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Evaluate = %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// TestKeepsBestPrecision: the kept epoch is the one with the highest
// validation precision (the lowest validation loss among ties), on a run
// where the lowest validation loss is at another epoch.
func TestKeepsBestPrecision(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.Epochs = 12
	cfg.Patience = 0
	cfg.LearningRate = 0.01 // the precision peaks, then falls while the loss keeps falling
	cfg.AverageEpochs = 1   // each epoch's own weights: averaged ones move too little apart here
	// With the album's direct columns too the sample's validation users
	// are found from the first epochs on and the precision stays level.
	cfg.Direct = []string{"artists"}
	// A seed on which the precision peaks before the last epoch (at 11 of
	// 12) and the loss is lowest at epoch 3; under seed 7 it still rises
	// at epoch 12.
	cfg.Seed = 8
	res, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Epochs) != cfg.Epochs || res.EarlyStop != "" {
		t.Fatalf("without patience the run stopped after %d of %d epochs, EarlyStop %q: want every epoch and no reason", len(res.Epochs), cfg.Epochs, res.EarlyStop)
	}
	kept := res.Epochs[res.BestEpoch-1]
	lowest := kept
	for _, e := range res.Epochs {
		if e.ValPrecision > kept.ValPrecision || e.ValPrecision == kept.ValPrecision && e.ValLoss < kept.ValLoss {
			t.Fatalf("kept epoch %d (precision %v, loss %v), but epoch %d has precision %v, loss %v", res.BestEpoch, kept.ValPrecision, kept.ValLoss, e.Epoch, e.ValPrecision, e.ValLoss)
		}
		if e.ValLoss < lowest.ValLoss {
			lowest = e
		}
	}
	if lowest.Epoch == kept.Epoch {
		t.Fatalf("the lowest validation loss is at the kept epoch %d: the run does not tell the two selections apart", kept.Epoch)
	}
	// The returned model must hold the kept epoch's weights, not the
	// last epoch's: re-score it on the same validation queries.
	last := res.Epochs[len(res.Epochs)-1]
	if last.ValPrecision == kept.ValPrecision {
		t.Fatalf("the last epoch scores as the kept one (%v): the check below could not tell their weights apart", kept.ValPrecision)
	}
	valUser := make(map[string]bool)
	for _, u := range res.ValidationUsers {
		valUser[u] = true
	}
	_, val, _ := eval.GroupUsers(tracks, ins, cfg.Actions, func(u string) bool { return valUser[u] })
	vecs, err := eval.Embed(res.Model, tracks)
	if err != nil {
		t.Fatal(err)
	}
	got, err := eval.Score(vecs, res.Model.Dim(), val, eval.Sample(val, cfg.EvalQueries, cfg.Seed), nil, cfg.EvalK)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Precision-kept.ValPrecision) > 1e-9 {
		t.Fatalf("the returned model scores precision %v on the validation queries; the kept epoch %d scored %v (the last, %d, scored %v)",
			got.Precision, kept.Epoch, kept.ValPrecision, last.Epoch, last.ValPrecision)
	}
	t.Logf("kept epoch %d (precision %.4f); lowest loss at epoch %d (precision %.4f)", kept.Epoch, kept.ValPrecision, lowest.Epoch, lowest.ValPrecision)
}

// TestCollapseGuard: a tiny run of the original cosine loss collapses the
// embeddings, and the guard says so in plain words naming --loss
// contrastive; the contrastive loss on the same data does not.
func TestCollapseGuard(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.Loss = LossCosine
	cfg.Epochs = 8
	cfg.LearningRate = 0.01
	res, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Collapsed {
		t.Fatalf("cosine loss: mean pairwise cosine %.3f, want above %.1f (collapsed)", res.Final.MeanPairwiseCosine, CollapseThreshold)
	}
	if !containsWarning(res.Warnings, "--loss contrastive") {
		t.Fatalf("cosine loss collapsed but no warning names --loss contrastive: %q", res.Warnings)
	}
	// At this 10× learning rate the auto features' sharp default
	// temperature (0.03) spreads the sample's few tracks to 0.9 in the
	// first epochs; the audio-only temperature shows the loss's guard.
	cfg.Loss, cfg.Temperature = LossContrastive, 0.1
	res, err = Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Collapsed || containsWarning(res.Warnings, "COLLAPSED") {
		t.Fatalf("contrastive loss: collapsed (spread %.3f), warnings %q", res.Final.MeanPairwiseCosine, res.Warnings)
	}
}

func containsWarning(ws []string, s string) bool {
	for _, w := range ws {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// TestSyntheticFallback: with no usable interactions Train still trains,
// on the original's synthetic users, and warns loudly.
func TestSyntheticFallback(t *testing.T) {
	tracks, ins := loadSample(t)
	for i := range ins {
		ins[i].Action = soundalike.ActionSkip // skips never count
	}
	res, err := Train(t.Context(), tracks, ins, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	// One user per 5 tracks, clamped to 10..50.
	if want := min(max(len(tracks)/5, 10), 50); !res.Config.Synthetic || res.Config.NumUsers != want {
		t.Fatalf("synthetic users: %v, %d users; want true, %d", res.Config.Synthetic, res.Config.NumUsers, want)
	}
	if !containsWarning(res.Warnings, "NOTHING REAL") {
		t.Fatalf("no loud warning about synthetic users: %q", res.Warnings)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		flag string
		mod  func(*Config)
	}{
		{"--epochs", func(c *Config) { c.Epochs = -1 }},
		{"--batch-size", func(c *Config) { c.BatchSize = 0 }},
		{"--validation-split", func(c *Config) { c.ValidationSplit = 1 }},
		{"--validation-split", func(c *Config) { c.ValidationSplit = 0 }},
		{"--learning-rate", func(c *Config) { c.LearningRate = 0 }},
		{"--embedding-size", func(c *Config) { c.EmbeddingSize = 1 }},
		{"--hidden-layers", func(c *Config) { c.HiddenLayers = []int{128, 0} }},
		{"--dropout-rate", func(c *Config) { c.DropoutRate = 1 }},
		{"--dropout-rate", func(c *Config) { c.DropoutRate = 0.99999999 }}, // 1 as a float32
		{"--loss", func(c *Config) { c.Loss = "mse" }},
		{"--token-dropout", func(c *Config) { c.TokenDropout = 1 }},
		{"--token-dropout", func(c *Config) { c.TokenDropout = -0.1 }},
		{"--token-dropout", func(c *Config) { c.TokenDropout = math.NaN() }},
		{"--temperature", func(c *Config) { c.Temperature = -0.1 }},
		// Beyond float32, where the loss and the steps are computed: no
		// step at all, or infinite ones.
		{"--learning-rate", func(c *Config) { c.LearningRate = 1e-50 }},
		{"--learning-rate", func(c *Config) { c.LearningRate = 1e300 }},
		{"--temperature", func(c *Config) { c.Temperature = 1e300 }},
		{"--temperature", func(c *Config) { c.Temperature = 1e-300 }},
		{"--table-rate-scale", func(c *Config) { c.TableRateScale = 1e-40 }},
		{"--table-rate-scale", func(c *Config) { c.TableRateScale = 1e300 }},
		{"--table-weight-decay", func(c *Config) { c.TableWeightDecay = -1 }},
		{"--average-epochs", func(c *Config) { c.AverageEpochs = -1 }},
		{"--features", func(c *Config) { c.Features = "all" }},
		{"--direct name needs --name-tokens", func(c *Config) { c.Direct, c.NameTokens = []string{"artists", "name"}, 0 }},
		{"--patience", func(c *Config) { c.Patience = -2 }},
		{"--actions", func(c *Config) { c.Actions = []string{"play", "skip"} }},
		{"--actions", func(c *Config) { c.Actions = nil }},
		{"--max-pairs-per-user", func(c *Config) { c.MaxPairsPerUser = 0 }},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("Validate() = %v, want an error naming %s", err, tt.flag)
		}
		if _, err := Train(context.Background(), nil, nil, cfg); err == nil || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("Train() = %v, want an error naming %s", err, tt.flag)
		}
	}
	def := DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if _, err := ParseLayers("128,x"); err == nil || !strings.Contains(err.Error(), "--hidden-layers") {
		t.Fatalf("ParseLayers(128,x) = %v, want an error naming --hidden-layers", err)
	}
	if l, err := ParseLayers("128, 64"); err != nil || len(l) != 2 || l[0] != 128 || l[1] != 64 {
		t.Fatalf("ParseLayers(128, 64) = %v, %v", l, err)
	}
	if _, err := Train(context.Background(), []soundalike.Track{{ID: "a"}}, nil, def); !errors.Is(err, ErrTooFewTracks) {
		t.Fatalf("Train(one track) = %v, want ErrTooFewTracks", err)
	}
}

// TestConfigValidateActions: a refused --actions says what is accepted.
func TestConfigValidateActions(t *testing.T) {
	for _, actions := range [][]string{{"skip"}, nil, {"play", " "}} {
		cfg := DefaultConfig()
		cfg.Actions = actions
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "--actions") || !strings.Contains(err.Error(), "play, like and addToPlaylist") {
			t.Errorf("Validate(Actions %q) = %v, want an error naming --actions and play, like and addToPlaylist", actions, err)
		}
	}
}

func TestTrainHardNegatives(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.HardNegatives = true
	a, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Config.HardNegatives || string(a.Model.Marshal()) != string(b.Model.Marshal()) {
		t.Fatalf("--hard-negatives: recorded %v; two runs with one seed equal: %v", a.Config.HardNegatives, string(a.Model.Marshal()) == string(b.Model.Marshal()))
	}
}

// TestEpochAndFinalPrecision: the kept epoch's validation precision and
// Final's are the same model's on two samples of the validation queries
// (the epoch's the first EpochQueries of Final's): equal when the samples
// are, and EpochQueries says when they are not.
func TestEpochAndFinalPrecision(t *testing.T) {
	tracks, ins := loadSample(t)
	for _, q := range []int{DefaultConfig().EvalQueries, 20} {
		cfg := smallConfig()
		cfg.Epochs = 4
		cfg.EvalQueries = q
		res, err := Train(t.Context(), tracks, ins, cfg)
		if err != nil {
			t.Fatal(err)
		}
		kept := res.Epochs[res.BestEpoch-1].ValPrecision
		if want := min(q, res.Final.Queries); res.EpochQueries != want {
			t.Errorf("EvalQueries %d: EpochQueries = %d; want %d (Final has %d)", q, res.EpochQueries, want, res.Final.Queries)
		}
		// On the same queries the two figures are one measurement; on
		// more, another sample, which may or may not score the same.
		if res.EpochQueries == res.Final.Queries && kept != res.Final.Model.Precision {
			t.Errorf("EvalQueries %d: epoch %d precision %v, Final %v, both on %d queries: want equal",
				q, res.BestEpoch, kept, res.Final.Model.Precision, res.Final.Queries)
		}
	}
}

// TestValidationUsersSurviveNewUsers: users imported between two runs of
// one seed move at most as many of the earlier users to the other side,
// so the second run holds out nearly every user the first held out: train
// --promote auto then compares the two models on those.
func TestValidationUsersSurviveNewUsers(t *testing.T) {
	tracks, ins := loadSample(t)
	// users adds to ins users of the given names, each with 6 tracks
	// of the catalogue.
	users := func(ins []soundalike.Interaction, names ...string) []soundalike.Interaction {
		out := slices.Clone(ins)
		for u, name := range names {
			for i := range 6 {
				out = append(out, soundalike.Interaction{User: name, Track: tracks[(u*37+i*11)%len(tracks)].ID, Action: soundalike.ActionPlay})
			}
		}
		return out
	}
	// The sample's few users and 40 more, so that the first run holds
	// out a dozen.
	var more []string
	for i := range 40 {
		more = append(more, fmt.Sprintf("user-%02d", i))
	}
	ins = users(ins, more...)
	cfg := smallConfig()
	cfg.Epochs = 1
	first, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Three new users, whose names sort among the others.
	grown := users(ins, "0-new", "m-new", "zz-new")
	second, err := Train(t.Context(), tracks, grown, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if second.Config.NumUsers != first.Config.NumUsers+3 {
		t.Fatalf("the second run has %d users; want the first's %d and 3 more", second.Config.NumUsers, first.Config.NumUsers)
	}
	firstHeld, secondHeld := map[string]bool{}, map[string]bool{}
	for _, u := range first.ValidationUsers {
		firstHeld[u] = true
	}
	for _, u := range second.ValidationUsers {
		secondHeld[u] = true
	}
	var moved []string
	for _, u := range first.ValidationUsers {
		if !secondHeld[u] {
			moved = append(moved, u+" (now trained on)")
		}
	}
	for _, u := range second.ValidationUsers {
		if !firstHeld[u] && !strings.HasSuffix(u, "-new") {
			moved = append(moved, u+" (now held out)")
		}
	}
	if len(moved) > 3 {
		t.Errorf("3 users added: %d earlier users changed sides, %v; want at most 3 (first: %v; second: %v)", len(moved), moved, first.ValidationUsers, second.ValidationUsers)
	}
	for _, r := range []*Result{first, second} {
		if want := int(math.Round(cfg.ValidationSplit * float64(r.Config.NumUsers))); len(r.ValidationUsers) != want {
			t.Errorf("%d users at --validation-split %v: %d held out; want %d", r.Config.NumUsers, cfg.ValidationSplit, len(r.ValidationUsers), want)
		}
	}
}

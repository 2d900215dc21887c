package trainer

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
)

// TestBatchSizeAboveThePairs: a --batch-size beyond the pairs an epoch
// samples trains on one batch of them all, says so naming the flag and the
// pair count, and never reports an epoch that ran no step.
func TestBatchSizeAboveThePairs(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.BatchSize = 100000
	cfg.Epochs = 4
	res, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := res.Config.NumSimilarPairs
	if res.Config.BatchSize != n {
		t.Fatalf("batch %d, want the first epoch's %d pairs", res.Config.BatchSize, n)
	}
	if want := fmt.Sprintf("--batch-size 100000 is more than the %d training pairs", n); !containsWarning(res.Warnings, want) {
		t.Fatalf("warnings %q, want one saying %q", res.Warnings, want)
	}
	for _, m := range res.Epochs {
		if m.Loss == 0 || m.PairsPerSec == 0 {
			t.Errorf("epoch %d: loss %v, %v pairs/s; want a step run", m.Epoch, m.Loss, m.PairsPerSec)
		}
	}
}

// TestShortEpochRunsAStep: an epoch that samples fewer pairs than a batch,
// or none that the model can tell apart, still runs a step (its pairs
// repeated to fill the batch; the first epoch's when it has none) instead
// of none, which reported a loss of 0 at 0 pairs/s.
func TestShortEpochRunsAStep(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	r := newRun(tracks, &cfg)
	if err := r.prepareInputs(); err != nil {
		t.Fatal(err)
	}
	if err := r.splitUsers(ins); err != nil {
		t.Fatal(err)
	}
	if err := r.recordConfig(); err != nil {
		t.Fatal(err)
	}
	nt, err := newNet(r.res.Config.BatchSize, r.width, r.fs.tables, cfg.HiddenLayers, cfg.EmbeddingSize, &cfg, nil, r.rng)
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	for _, c := range []struct {
		name  string
		train [][]uint32
	}{
		{"one pair", [][]uint32{{r.train[0][0], r.train[0][1]}}},
		{"no pair told apart", [][]uint32{{r.train[0][0], r.train[0][0]}}},
		{"fewer than a batch", [][]uint32{r.train[0][:4]}},
		{"a batch or more", [][]uint32{r.train[0]}}, // the ordinary epoch
	} {
		t.Run(c.name, func(t *testing.T) {
			r.train = c.train
			m, err := r.trainEpoch(t.Context(), nt, 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			// A step ran when pairs went through. Its loss may be 0: in
			// a batch of one pair repeated every in-batch negative is
			// the same song, masked, once the net has taken a step.
			if m.PairsPerSec == 0 || math.IsNaN(m.Loss) {
				t.Fatalf("epoch 2 of %s: loss %v, %v pairs/s; want a step run", c.name, m.Loss, m.PairsPerSec)
			}
		})
	}
}

// TestIdenticalTracks: when every track has the same inputs, every pair
// is dropped as the same song twice; the error says so, rather than
// advising more interactions or a smaller --validation-split.
func TestIdenticalTracks(t *testing.T) {
	tracks, ins := loadSample(t)
	for i := range tracks {
		id, name := tracks[i].ID, tracks[i].Name
		tracks[i] = tracks[0]
		tracks[i].ID, tracks[i].Name = id, name
	}
	cfg := smallConfig()
	cfg.NameTokens = 0 // the default: the names, which differ, are not read
	_, err := Train(t.Context(), tracks, ins, cfg)
	if err == nil {
		t.Fatal("Train on identical tracks = nil error, want one")
	}
	for _, want := range []string{"cannot tell apart", fmt.Sprintf("all the catalogue's %d tracks have the same inputs", len(tracks)), "features must differ"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Train on identical tracks = %v, want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "--validation-split") {
		t.Errorf("Train on identical tracks = %v, which advises --validation-split", err)
	}
}

// TestCatalogueTooSmallForEvalK: a catalogue of fewer than EvalK+2
// tracks cannot rank a meaningful validation precision@EvalK (every other
// track is in each top k): the run trains without validation figures and
// says why, as eval refuses such a -k.
func TestCatalogueTooSmallForEvalK(t *testing.T) {
	all, ins := loadSample(t)
	cfg := smallConfig()
	cfg.BatchSize = 4
	// Tracks spread over the catalogue: a few of each user's.
	spread := func(n int) []soundalike.Track {
		out := make([]soundalike.Track, n)
		for i := range out {
			out[i] = all[i*len(all)/n]
		}
		return out
	}
	tracks := spread(cfg.EvalK + 1)
	res, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("the catalogue's %d tracks are too few for validation precision@%d", len(tracks), cfg.EvalK)
	if res.Final.K != 0 || !strings.Contains(res.NoValidation, want) || !containsWarning(res.Warnings, want) {
		t.Fatalf("final k %d, no validation %q, warnings %q; want k 0 and both saying %q", res.Final.K, res.NoValidation, res.Warnings, want)
	}
	for _, m := range res.Epochs {
		if !math.IsNaN(m.ValPrecision) || !math.IsNaN(m.ValRecall) {
			t.Errorf("epoch %d: validation precision %v, recall %v; want none (NaN)", m.Epoch, m.ValPrecision, m.ValRecall)
		}
	}
	// One more track and the figures are there.
	res, err = Train(t.Context(), spread(cfg.EvalK+2), ins, cfg)
	if err != nil || res.NoValidation != "" || res.Final.K != cfg.EvalK {
		t.Fatalf("Train on %d tracks: %v, no validation %q, k %d; want figures at k %d", cfg.EvalK+2, err, res.NoValidation, res.Final.K, cfg.EvalK)
	}
}

// TestCollapseWarningAdvice: the collapse warning under the contrastive
// loss names the settings to change, in plain words, and not the loss the
// run already uses.
func TestCollapseWarningAdvice(t *testing.T) {
	got := collapseWarning(3, 0.95, LossContrastive)
	if !strings.Contains(got, "a higher --temperature or a lower --learning-rate") || strings.Contains(got, "--loss") {
		t.Errorf("collapseWarning(contrastive) = %q, want advice of a higher --temperature or a lower --learning-rate, not --loss", got)
	}
	if got := collapseWarning(3, 0.95, LossCosine); !strings.Contains(got, "--loss contrastive") {
		t.Errorf("collapseWarning(cosine) = %q, want advice of --loss contrastive", got)
	}
}

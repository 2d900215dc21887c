package trainer

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/eval"
	"github.com/audotics/soundalike/internal/syncbuf"
)

// TestDivergedFirstEpoch: a learning rate that blows the weights up in the
// first epoch is an error wrapping ErrDiverged that names --learning-rate,
// whether the weights turn NaN (auto features) or the network maps tracks
// to zero (audio features only, whose ReLUs all die), rather than an
// embedder message, or epochs of a dead network that fail at the end.
func TestDivergedFirstEpoch(t *testing.T) {
	tracks, ins := loadSample(t)
	for _, features := range []string{FeaturesAuto, FeaturesSpotify11} {
		t.Run(features, func(t *testing.T) {
			cfg := smallConfig()
			cfg.Features = features
			cfg.LearningRate = 1e10
			var epochs int
			cfg.Progress = func(EpochMetrics) { epochs++ }
			_, err := Train(t.Context(), tracks, ins, cfg)
			if !errors.Is(err, ErrDiverged) {
				t.Fatalf("Train with --learning-rate 1e10 = %v, want an error wrapping ErrDiverged", err)
			}
			if !strings.Contains(err.Error(), "--learning-rate (now 1e+10)") || !strings.Contains(err.Error(), "epoch 1 of") {
				t.Fatalf("error %q does not name the epoch and --learning-rate", err)
			}
			if epochs != 0 {
				t.Fatalf("%d diverged epochs reported as progress, want 0", epochs)
			}
		})
	}
}

// TestDivergedKeepsBest: a run whose weights turn non-finite after two
// good epochs stops there and keeps the best good epoch, with a warning
// naming the epoch and --learning-rate, instead of failing and losing it.
func TestDivergedKeepsBest(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.Epochs = 6
	cfg.Patience = 0
	afterEpochSteps = func(epoch int, nt *net) {
		if epoch == 3 {
			nt.ws[0].Value().Data().([]float32)[0] = float32(math.NaN())
		}
	}
	t.Cleanup(func() { afterEpochSteps = nil })
	res, err := Train(t.Context(), tracks, ins, cfg)
	if err != nil {
		t.Fatalf("Train diverging in epoch 3: %v, want the best of epochs 1 and 2", err)
	}
	if len(res.Epochs) != 2 || res.BestEpoch < 1 || res.BestEpoch > 2 {
		t.Fatalf("%d epochs recorded, best %d; want 2, and best 1 or 2", len(res.Epochs), res.BestEpoch)
	}
	if !containsWarning(res.Warnings, "DIVERGED in epoch 3 of 6") || !containsWarning(res.Warnings, "--learning-rate") {
		t.Fatalf("warnings %q do not say the run diverged in epoch 3 and name --learning-rate", res.Warnings)
	}
	if _, err := eval.Embed(res.Model, tracks); err != nil {
		t.Fatalf("the kept model does not embed the catalogue: %v", err)
	}
}

// oneUser gives every interaction to one user: no user is left to hold
// out, so the run has no validation figures.
func oneUser(ins []soundalike.Interaction) []soundalike.Interaction {
	for i := range ins {
		ins[i].User = "only"
	}
	return ins
}

// TestNoValidationKeepsLastEpoch: a run without validation figures (one
// user) keeps its last epoch, the one trained longest, not its first.
func TestNoValidationKeepsLastEpoch(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.Epochs = 4
	res, err := Train(t.Context(), tracks, oneUser(ins), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ValidationUsers) != 0 {
		t.Fatalf("validation users %q, want none: the test needs a run without validation", res.ValidationUsers)
	}
	if res.BestEpoch != len(res.Epochs) || len(res.Epochs) != cfg.Epochs {
		t.Fatalf("kept epoch %d of %d run, want the last, %d", res.BestEpoch, len(res.Epochs), cfg.Epochs)
	}
}

// TestEpochLogWithoutValidation: without a Progress callback each epoch
// is logged, and a run without validation figures prints them as "-",
// not as NaN.
func TestEpochLogWithoutValidation(t *testing.T) {
	tracks, ins := loadSample(t)
	cfg := smallConfig()
	cfg.Epochs = 2
	var logged syncbuf.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	cfg.Progress = nil
	if _, err := Train(t.Context(), tracks, oneUser(ins), cfg); err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	if strings.Count(out, "epoch 2/2: loss ") != 1 || !strings.Contains(out, "val_loss -, val precision@") || strings.Contains(out, "NaN") {
		t.Fatalf("log of a run without validation:\n%s\nwant each epoch's line, its validation figures as -, no NaN", out)
	}
}

// TestEpochMetricsJSON: an epoch without a validation loss (NaN) encodes,
// as null, and decodes back to NaN; the other figures round-trip.
func TestEpochMetricsJSON(t *testing.T) {
	in := []EpochMetrics{{Epoch: 1, Loss: 2.5, ValLoss: math.NaN(), ValPrecision: 0.25, ValRecall: 0.5, Spread: 0.1, PairsPerSec: 1000, Seconds: 1.5}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("json.Marshal(%v): %v", in, err)
	}
	if !strings.Contains(string(b), `"val_loss":null`) || !strings.Contains(string(b), `"val_precision_at_k":0.25`) {
		t.Fatalf("json.Marshal(%v) = %s, want val_loss null and the other figures under their keys", in, b)
	}
	var out []EpochMetrics
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !math.IsNaN(out[0].ValLoss) {
		t.Fatalf("decoded %v, want val_loss NaN", out)
	}
	out[0].ValLoss, in[0].ValLoss = 0, 0
	if out[0] != in[0] {
		t.Fatalf("decoded %+v, want %+v", out[0], in[0])
	}
}

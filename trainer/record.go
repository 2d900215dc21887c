package trainer

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/audotics/soundalike"
)

// RunHistory is the history of a run as stored beside its model
// (soundalike.ModelRun.History, ModelVersion.History): its epochs, the
// epoch kept, the users it held out, its warnings and its wall time.
// The command line's runs, eval (the held-out users) and a later train's
// --promote auto read it back, and the explorer draws its epochs.
type RunHistory struct {
	Epochs          []EpochMetrics `json:"epochs"`
	BestEpoch       int            `json:"best_epoch"`
	ValidationUsers []string       `json:"validation_users"`
	Warnings        []string       `json:"warnings"`
	Seconds         float64        `json:"seconds"`
}

// History returns the run's RunHistory.
func (r *Result) History() RunHistory {
	h := RunHistory{Epochs: r.Epochs, BestEpoch: r.BestEpoch, ValidationUsers: r.ValidationUsers,
		Warnings: r.Warnings, Seconds: r.Duration.Seconds()}
	if h.Warnings == nil {
		h.Warnings = []string{}
	}
	return h
}

// ModelRun returns the record to store beside the run's model
// (Engine.SaveModel): its RunConfig, its Final figures and its History,
// each as JSON. A part that does not encode is left empty and named in
// the error; the others are set, so that a caller may store the model
// with what there is, as the command line does with a warning.
func (r *Result) ModelRun() (soundalike.ModelRun, error) {
	var errs []error
	encode := func(what string, v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("the run's %s does not encode: %w", what, err))
			return nil
		}
		return b
	}
	run := soundalike.ModelRun{
		Config:  encode("config", r.Config),
		Metrics: encode("figures", r.Final),
		History: encode("history", r.History()),
	}
	return run, errors.Join(errs...)
}

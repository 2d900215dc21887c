package soundalike

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/audotics/soundalike/embedder"
	"github.com/audotics/soundalike/storage"
)

// ModelRun is what a training run records beside its model: its config
// (under the original recipe's keys), its final evaluation figures and its
// per-epoch history. Each is a JSON document the trainer owns.
type ModelRun struct {
	Config  json.RawMessage
	Metrics json.RawMessage
	History json.RawMessage
}

// modelMeta is the metadata document stored with every model version.
type modelMeta struct {
	Created time.Time       `json:"created"`
	Dim     int             `json:"dim"`
	Inputs  []string        `json:"inputs"`
	Config  json.RawMessage `json:"config,omitempty"`
	Metrics json.RawMessage `json:"metrics,omitempty"`
	History json.RawMessage `json:"history,omitempty"`
}

func formatVersion(v uint64) string { return "v" + strconv.FormatUint(v, 10) }

// ModelVersionForms says what ParseModelVersion takes for a stored
// model version, for messages that list it: the command line's errors
// list these forms too, so that the library and its commands word one
// rule alike.
const ModelVersionForms = "v2, V2 or 2"

// ParseModelVersion returns the number of the model version s names: vN,
// VN or N, N a whole number from 1 (v01 is v1), the version Models lists
// as vN; "" and "current" name the current model, 0. Anything else (v0,
// a sign, a space, vv1) is refused with an error that lists the forms.
func ParseModelVersion(s string) (uint64, error) {
	if s == "" || s == "current" {
		return 0, nil
	}
	n := s
	if n[0] == 'v' || n[0] == 'V' {
		n = n[1:]
	}
	v, err := strconv.ParseUint(n, 10, 64) // digits only: no sign, no space
	if err != nil || v == 0 {
		return 0, fmt.Errorf("model version %q: want %s, or current (Engine.Models lists the stored versions)", s, ModelVersionForms)
	}
	return v, nil
}

func (m *modelMeta) info(version uint64) ModelInfo {
	return ModelInfo{
		Version: formatVersion(version), Created: m.Created, Dim: m.Dim, Inputs: m.Inputs,
		Config: m.Config, Metrics: m.Metrics, History: m.History,
	}
}

// SaveModel stores m as a new model version with its run record and makes
// it the current model. The next Reindex embeds the catalogue with it.
func (e *Engine) SaveModel(ctx context.Context, m *embedder.Model, run ModelRun) (ModelInfo, error) {
	return e.SaveModelVersion(ctx, m, run, true)
}

// SaveModelVersion stores m as a new model version with its run record.
// It becomes the current model when makeCurrent is true or when there is
// no current model yet; otherwise the current model stays (PromoteModel
// makes the new version current later).
func (e *Engine) SaveModelVersion(ctx context.Context, m *embedder.Model, run ModelRun, makeCurrent bool) (ModelInfo, error) {
	if err := checkModel(m); err != nil {
		return ModelInfo{}, fmt.Errorf("save model: %w", err)
	}
	if err := run.check(); err != nil {
		return ModelInfo{}, fmt.Errorf("save model: %w", err)
	}
	meta := modelMeta{Created: time.Now().UTC(), Dim: m.Dim(), Inputs: m.Inputs(),
		Config: run.Config, Metrics: run.Metrics, History: run.History}
	mb, err := json.Marshal(meta)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("save model: %w", err)
	}
	unlock, err := e.lockWrite(ctx, "save model")
	if err != nil {
		return ModelInfo{}, err
	}
	defer unlock()
	db, release, err := e.writable(ctx)
	if err != nil {
		return ModelInfo{}, err
	}
	defer release()
	var v uint64
	current := makeCurrent
	err = db.Update(func(tx *storage.Tx) error {
		prev := tx.CurrentModel()
		if v, err = tx.PutModel(m.Marshal(), mb); err != nil {
			return err
		}
		if makeCurrent || prev == 0 {
			current = true
			return nil
		}
		return tx.SetCurrentModel(prev)
	})
	if err != nil {
		return ModelInfo{}, fmt.Errorf("save model: %w", err)
	}
	if current {
		e.modelChanged(db)
	}
	return meta.info(v), nil
}

// checkModel refuses a model the engine could store but never use: none,
// the zero Model, one reading an input RawInputs cannot supply, or one
// whose embedding of the zero Track cannot be normalised (an all-zero or
// overflowing network), which Reindex would only find later.
func checkModel(m *embedder.Model) error {
	if m == nil {
		return errors.New("model is nil: pass one from trainer.Train, embedder.New or LoadModel")
	}
	if m.Dim() == 0 {
		return errors.New("model is empty (a zero embedder.Model): make it with embedder.New, embedder.Build or embedder.Unmarshal")
	}
	// RawInputs is what Reindex and Embed resolve the model's inputs with.
	raw, err := RawInputs(&Track{}, m.Inputs(), nil)
	if err != nil {
		return fmt.Errorf("%w: the engine supplies %s", err, suppliedInputs())
	}
	if _, err := m.Embed(raw, nil); err != nil {
		return fmt.Errorf("model's embedding of an empty track: %w", err)
	}
	return nil
}

// suppliedInputs describes the raw input names RawInputs understands.
func suppliedInputs() string {
	return fmt.Sprintf("%s, %s, %s, %s, %s, %s1..%s%d and %s1..%s%d",
		strings.Join(FeatureNames(), ", "), InputDurationMS, InputReleaseYear, InputPopularity, InputAlbum,
		InputArtistPrefix, InputArtistPrefix, MaxArtistInputs,
		InputNameTokenPrefix, InputNameTokenPrefix, MaxNameTokenInputs)
}

// check refuses a run record that is not JSON: it is stored inside the
// model's metadata document, which must stay readable.
func (r ModelRun) check() error {
	for _, f := range []struct {
		name string
		doc  json.RawMessage
	}{{"Config", r.Config}, {"Metrics", r.Metrics}, {"History", r.History}} {
		if len(f.doc) > 0 && !json.Valid(f.doc) {
			return fmt.Errorf("ModelRun.%s is not valid JSON: want a JSON document, or nothing", f.name)
		}
	}
	return nil
}

// modelChanged follows a change of the current model. The served index,
// local or a vector source's, keeps the model that built it; only an
// engine serving without an index (queries by features) takes the new
// model.
func (e *Engine) modelChanged(db *storage.DB) {
	if s := e.snap.Load(); s != nil && !s.hasIndex() {
		e.refresh(db)
	}
}

// errUnchanged ends a write transaction that would change nothing, so
// that it is rolled back rather than committed as a new generation.
var errUnchanged = errors.New("unchanged")

// PromoteModel makes a stored model version (as ParseModelVersion takes
// it: "v3", "V3" or "3") the current model, for a rollback or to adopt a
// version saved without becoming current. The next Reindex embeds the
// catalogue with it. changed is false when the version was already the
// current model, and nothing else changed. A path that holds no
// database is refused with ErrNoDatabase, as Reindex refuses it: no file
// is laid out there.
func (e *Engine) PromoteModel(ctx context.Context, version string) (info ModelInfo, changed bool, err error) {
	v, err := ParseModelVersion(version)
	if err != nil {
		return ModelInfo{}, false, err
	}
	if v == 0 {
		return ModelInfo{}, false, fmt.Errorf("promote model: %q names the current model: name a stored version: %s", version, ModelVersionForms)
	}
	unlock, err := e.lockWrite(ctx, "promote model")
	if err != nil {
		return ModelInfo{}, false, err
	}
	defer unlock()
	if err := e.needDatabase(ctx); err != nil {
		return ModelInfo{}, false, fmt.Errorf("promote model: %w", err)
	}
	db, release, err := e.writable(ctx)
	if err != nil {
		return ModelInfo{}, false, err
	}
	defer release()
	err = db.Update(func(tx *storage.Tx) error {
		_, raw, ok, err := tx.Model(v)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("model %s does not exist: %w", formatVersion(v), ErrNoModel)
		}
		var meta modelMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			return fmt.Errorf("model %s: metadata: %w", formatVersion(v), err)
		}
		info = meta.info(v)
		if tx.CurrentModel() == v {
			return errUnchanged // rolled back: no new generation for servers to reload
		}
		changed = true
		return tx.SetCurrentModel(v)
	})
	if errors.Is(err, errUnchanged) {
		return info, false, nil
	}
	if err != nil {
		return ModelInfo{}, false, fmt.Errorf("promote model: %w", err)
	}
	if changed {
		e.modelChanged(db)
	}
	return info, changed, nil
}

// LoadModel returns a stored model ("" = the current one) and its
// description. It fails with ErrNoModel when there is none. ctx stops a
// wait for another process's lock, not the read: that is of one model's
// bytes (milliseconds).
func (e *Engine) LoadModel(ctx context.Context, version string) (*embedder.Model, ModelInfo, error) {
	v, err := ParseModelVersion(version)
	if err != nil {
		return nil, ModelInfo{}, err
	}
	var m *embedder.Model
	var info ModelInfo
	err = e.view(ctx, func(tx *storage.Tx) error {
		m, info, err = loadModelTx(tx, v)
		return err
	})
	return m, info, err
}

func loadModelTx(tx *storage.Tx, v uint64) (*embedder.Model, ModelInfo, error) {
	if v == 0 {
		v = tx.CurrentModel()
		if v == 0 {
			return nil, ModelInfo{}, ErrNoModel
		}
	}
	blob, raw, ok, err := tx.Model(v)
	if err != nil {
		return nil, ModelInfo{}, err
	}
	if !ok {
		return nil, ModelInfo{}, fmt.Errorf("model %s does not exist: %w", formatVersion(v), ErrNoModel)
	}
	var meta modelMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, ModelInfo{}, fmt.Errorf("model %s: metadata: %w", formatVersion(v), err)
	}
	m, err := embedder.Unmarshal(blob)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("model %s: %w", formatVersion(v), err)
	}
	return m, meta.info(v), nil
}

// ModelVersion is one stored model, with whether it is the current one.
type ModelVersion struct {
	ModelInfo
	Current bool
}

// Models lists the stored model versions, oldest first. ctx stops a wait
// for another process's lock, not the read: that is of each version's
// metadata, not its weights.
func (e *Engine) Models(ctx context.Context) ([]ModelVersion, error) {
	var out []ModelVersion
	err := e.view(ctx, func(tx *storage.Tx) error {
		cur := tx.CurrentModel()
		return tx.ForEachModel(func(v uint64, raw []byte) error {
			var meta modelMeta
			if err := json.Unmarshal(raw, &meta); err != nil {
				return fmt.Errorf("model %s: metadata: %w", formatVersion(v), err)
			}
			out = append(out, ModelVersion{ModelInfo: meta.info(v), Current: v == cur})
			return nil
		})
	})
	return out, err
}

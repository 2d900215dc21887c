package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/audotics/soundalike"
)

// withHint adds the command that resolves err, when it is one the library
// reports in terms of library calls (no model, no index).
func withHint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, soundalike.ErrNoModel):
		return fmt.Errorf("%w; run `soundalike train` first", err)
	case errors.Is(err, soundalike.ErrNoIndex):
		return fmt.Errorf("%w; run `soundalike reindex` first", err)
	}
	return err
}

// lockHint adds how to wait longer for a database another process holds.
func lockHint(err error) error {
	if errors.Is(err, soundalike.ErrLocked) {
		return fmt.Errorf("%w (give --lock-timeout to wait longer)", err)
	}
	return err
}

// damageHint adds what to do about a damaged database file, whichever
// command met it.
func damageHint(err error) error {
	if errors.Is(err, soundalike.ErrDamaged) {
		return fmt.Errorf("%w; `soundalike check` on the file lists what is damaged", err)
	}
	return err
}

// versionHint turns err, when it is the library's ErrNoModel for a model
// version named by what (--model, models promote), into the command
// line's terms: that version does not exist, and the versions that do.
// Other errors, and ErrNoModel for the current model, are withHint's.
func versionHint(ctx context.Context, eng *soundalike.Engine, what, version string, err error) error {
	v, perr := soundalike.ParseModelVersion(version)
	if perr != nil || v == 0 || !errors.Is(err, soundalike.ErrNoModel) {
		return withHint(err)
	}
	models, lerr := eng.Models(ctx)
	if lerr != nil {
		return fmt.Errorf("%s %s: model version v%d does not exist (the stored versions could not be listed: %v)", what, version, v, lerr)
	}
	if len(models) == 0 {
		return fmt.Errorf("%s %s: model version v%d does not exist: %s holds no model yet; run `soundalike train` first", what, version, v, eng.Path())
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Version
		if m.Current {
			names[i] += " (current)"
		}
	}
	return fmt.Errorf("%s %s: model version v%d does not exist; %s holds %s", what, version, v, eng.Path(), strings.Join(names, ", "))
}

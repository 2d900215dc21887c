package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/audotics/soundalike"
)

// This file is the one place where the library's errors are put into the
// command line's terms. The library's messages name the library calls
// that resolve them (trainer.Train, Engine.Reindex, Engine.Models); the
// command line names its commands instead, as the server's 503 answers
// do (server/errors.go):
//
//	soundalike.ErrNoModel     "no model: run `soundalike train` first" (reword)
//	soundalike.ErrNoModel     for a version given by --model or models
//	                          promote: that version does not exist, and the
//	                          ones stored (rewordVersion)
//	soundalike.ErrNoIndex     "no index: run `soundalike reindex` first" (reword)
//	a malformed version       the flag or argument, and what a version is
//	                          (checkModelVersion)
//	*soundalike.IndexDamagedError
//	                          its remedy is `soundalike reindex --full`
//	                          (indexRemedy)
//	soundalike.ErrDamaged     adds `soundalike check` (damageHint)
//	soundalike.ErrLocked      adds --lock-timeout (lockHint)
//
// reword and rewordVersion replace the library's message: the commands
// wrap what they return in their own context (similar --track X: …).
// damageHint and lockHint add to it, as its file and holder are the
// operator's business, and indexRemedy changes only its remedy; these
// three apply to every command's error (runCommand). Errors keep their
// chain, so errors.Is still finds the library's sentinel.

// The command line's words for the library's "no model" and "no index".
const (
	msgNoModel = "no model: run `soundalike train` first"
	msgNoIndex = "no index: run `soundalike reindex` first"
)

// reworded is an error with the command line's message in place of the
// library's; it wraps the library's error.
type reworded struct {
	msg string
	err error
}

func (e reworded) Error() string { return e.msg }
func (e reworded) Unwrap() error { return e.err }

// reword returns err in the command line's terms when it is one the
// library reports in terms of library calls (no model, no index): the
// command that resolves it replaces the library's message. Other errors
// are returned as they are.
func reword(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, soundalike.ErrNoModel):
		return reworded{msgNoModel, err}
	case errors.Is(err, soundalike.ErrNoIndex):
		return reworded{msgNoIndex, err}
	}
	return err
}

// indexRemedy gives a damaged index's error the command that rebuilds the
// index in place of the library call; only the remedy changes: what was
// damaged, and where, stays.
func indexRemedy(err error) error {
	d, ok := errors.AsType[*soundalike.IndexDamagedError](err)
	if !ok {
		return err
	}
	return reworded{strings.Replace(err.Error(), d.Remedy(), "rebuild it with `soundalike reindex --full`", 1), err}
}

// checkModelVersion refuses, as a usage error, a model version that what
// (--model, models promote) gives and that is no version at all; which
// versions exist is the database's to say (rewordVersion).
func checkModelVersion(what, version string) error {
	if _, err := soundalike.ParseModelVersion(version); err != nil {
		return usagef("%s %q: want a model version such as v1 or v2 (`soundalike models` lists them)", what, version)
	}
	return nil
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

// rewordVersion turns err, when it is the library's ErrNoModel for a model
// version named by what (--model, models promote), into the command
// line's terms: that version does not exist, and the versions that do.
// Other errors, and ErrNoModel for the current model, are reword's.
func rewordVersion(ctx context.Context, eng *soundalike.Engine, what, version string, err error) error {
	v, perr := soundalike.ParseModelVersion(version)
	if perr != nil || v == 0 || !errors.Is(err, soundalike.ErrNoModel) {
		return reword(err)
	}
	models, lerr := eng.Models(ctx)
	if lerr != nil {
		return reworded{fmt.Sprintf("%s %s: model version v%d does not exist (the stored versions could not be listed: %v)", what, version, v, lerr), err}
	}
	if len(models) == 0 {
		return reworded{fmt.Sprintf("%s %s: model version v%d does not exist: %s holds no model yet; run `soundalike train` first", what, version, v, eng.Path()), err}
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Version
		if m.Current {
			names[i] += " (current)"
		}
	}
	return reworded{fmt.Sprintf("%s %s: model version v%d does not exist; %s holds %s", what, version, v, eng.Path(), strings.Join(names, ", ")), err}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
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
//	                          (checkModelFlag, modelVersionArg)
//	*soundalike.IndexDamagedError
//	                          its remedy is `soundalike reindex --full`
//	                          alone, without the library call the
//	                          library's remedy also names (indexRemedy)
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
// index as its whole remedy. The library's remedy (Remedy) names that
// command and the library call beside it, for the log and /readyz that
// serve's operator and an embedding program's both read; a command's
// reader needs only the command. Only the remedy changes: what was
// damaged, and where, stays.
func indexRemedy(err error) error {
	d, ok := errors.AsType[*soundalike.IndexDamagedError](err)
	if !ok {
		return err
	}
	return reworded{strings.Replace(err.Error(), d.Remedy(), "rebuild it with `soundalike reindex --full`", 1), err}
}

// modelVersionArg returns version, a stored model's version as the
// command line takes it, in the form the library and `soundalike models`
// write it, vN; ok is false for anything soundalike.ParseModelVersion
// refuses, and for "" and "current", which name no stored version. The
// library's rule is the command line's, so that a version one refuses
// the other refuses too, and each error lists the same forms
// (soundalike.ModelVersionForms).
func modelVersionArg(version string) (canonical string, ok bool) {
	v, err := soundalike.ParseModelVersion(version)
	if err != nil || v == 0 {
		return "", false
	}
	return "v" + strconv.FormatUint(v, 10), true
}

// checkModelFlag returns the version --model of fs gives, in the
// library's form: "" (the flag's default) or "current" for the current
// model, or a version as modelVersionArg takes it; anything else is
// refused as a usage error naming the flag and what it takes.
func checkModelFlag(fs *flag.FlagSet, version string) (string, error) {
	if version == "" || version == "current" {
		return "", nil
	}
	canonical, ok := modelVersionArg(version)
	if !ok {
		return "", refuseFlag(fs, "model", version, "want a model version: %s, or current (`soundalike models` lists them)", soundalike.ModelVersionForms)
	}
	return canonical, nil
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
	v, ok := modelVersionArg(version)
	if !ok || !errors.Is(err, soundalike.ErrNoModel) {
		return reword(err)
	}
	models, lerr := eng.Models(ctx)
	if lerr != nil {
		return reworded{fmt.Sprintf("%s %s: model version %s does not exist (the stored versions could not be listed: %v)", what, version, v, lerr), err}
	}
	if len(models) == 0 {
		return reworded{fmt.Sprintf("%s %s: model version %s does not exist: %s holds no model yet; run `soundalike train` first", what, version, v, eng.Path()), err}
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Version
		if m.Current {
			names[i] += " (current)"
		}
	}
	return reworded{fmt.Sprintf("%s %s: model version %s does not exist; %s holds %s", what, version, v, eng.Path(), strings.Join(names, ", ")), err}
}

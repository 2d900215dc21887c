package main

import (
	"errors"
	"fmt"

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

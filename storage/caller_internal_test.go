package storage

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestRunCallerPanics: a panic of the application's code inside RunCaller
// reaches the caller of View or Update as the same panic, and the database
// stays usable; a panic of this package's reads made from that code
// (markDamage), or of code outside RunCaller, is still ErrDamaged.
func TestRunCallerPanics(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "c.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	recovered := func(f func() error) (r any, err error) {
		defer func() { r = recover() }()
		return nil, f()
	}
	bug := errors.New("caller bug")
	for _, run := range []struct {
		name string
		do   func(fn func(*Tx) error) error
	}{{"View", db.View}, {"Update", db.Update}} {
		r, err := recovered(func() error {
			return run.do(func(*Tx) error { return RunCaller(func() error { panic(bug) }) })
		})
		if r != bug || err != nil {
			t.Errorf("%s(RunCaller(panic)) recovered %v, returned %v; want the panic %v", run.name, r, err, bug)
		}
		// A nested View inside the application's code: its own panic
		// passes through both.
		r, _ = recovered(func() error {
			return run.do(func(*Tx) error {
				return RunCaller(func() error {
					return db.View(func(*Tx) error { return RunCaller(func() error { panic(bug) }) })
				})
			})
		})
		if r != bug {
			t.Errorf("nested %s recovered %v, want %v", run.name, r, bug)
		}
		r, err = recovered(func() error {
			return run.do(func(*Tx) error {
				return RunCaller(func() error {
					func() { defer markDamage(); panic("bad page") }()
					return nil
				})
			})
		})
		if r != nil || !errors.Is(err, ErrDamaged) {
			t.Errorf("%s(RunCaller(a read's panic)) recovered %v, returned %v; want ErrDamaged", run.name, r, err)
		}
		r, err = recovered(func() error {
			return run.do(func(*Tx) error { panic("decoder") })
		})
		if r != nil || !errors.Is(err, ErrDamaged) {
			t.Errorf("%s(panic outside RunCaller) recovered %v, returned %v; want ErrDamaged", run.name, r, err)
		}
	}
	if err := db.Update(func(tx *Tx) error { _, _, _, err := tx.PutTrack("t", []byte("x")); return err }); err != nil {
		t.Errorf("Update after the panics: %v", err)
	}
}

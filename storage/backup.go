package storage

import (
	"context"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/audotics/soundalike/internal/outfile"
)

// Backup writes a consistent copy of the database to path, as of one read
// transaction (bbolt's hot copy: writers in this process go on meanwhile),
// and returns the copy's size.
//
// The copy is written as a write to path by a shell's > or cp would leave
// it, but never half-written: when path is a symlink, the file it points
// to is written and the link kept; a file that path replaces keeps its
// permission, and a new one gets the database file's, under the umask (it
// holds everything the database does). It is written to a temporary file
// beside that file, synced, and renamed over it, so a failed backup
// leaves no partial file under the name and the old one, if any, as it
// was. A path that names something other than a file (a directory, a
// device) is refused.
//
// verify, when not nil, is called with the temporary file's name once
// the copy is written and synced, and before it is renamed: an error from
// it leaves path as it was and is returned as it is. It may open the copy
// (to check it before it replaces a good backup).
//
// A ctx that ends stops the copy at its next write, or before the
// rename, with ctx's error.
func (db *DB) Backup(ctx context.Context, path string, verify func(copy string) error) (int64, error) {
	perm := os.FileMode(0o600) // a new backup's: the database file's
	if st, err := os.Stat(db.path); err == nil {
		perm = st.Mode().Perm()
	}
	f, err := outfile.Create(path, perm)
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	defer f.Discard()
	n, err := db.copyTo(ctx, f.File)
	if err == nil {
		err = f.Finish()
	}
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	if verify != nil {
		if err := verify(f.Name()); err != nil {
			return 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	return n, nil
}

// copyTo writes the database's hot copy to w.
func (db *DB) copyTo(ctx context.Context, w io.Writer) (n int64, err error) {
	err = db.protect("copying it", func() error {
		return db.view(func(btx *bolt.Tx) (err error) {
			n, err = btx.WriteTo(ctxWriter{ctx, w})
			return err
		})
	})
	if cerr := ctx.Err(); err != nil && cerr != nil {
		err = cerr // bbolt's WriteTo words the writer's error as text
	}
	return n, err
}

// ctxWriter is w until ctx ends, then a writer that fails with ctx's
// error.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

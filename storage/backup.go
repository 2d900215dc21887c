package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/audotics/soundalike/internal/paths"
	bolt "go.etcd.io/bbolt"
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
	f, err := db.createBackup(path)
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	defer f.discard()
	n, err := f.write(ctx, db)
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
	if err := f.commit(); err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	return n, nil
}

// backupFile is a backup being written: a temporary file beside target,
// the file it replaces (or creates) when committed.
type backupFile struct {
	*os.File
	target    string
	committed bool // renamed: nothing to remove
}

// createBackup creates the temporary file of a backup to path, with the
// permission the backup will have (see Backup).
func (db *DB) createBackup(path string) (*backupFile, error) {
	target, err := paths.Target(path)
	if err != nil {
		return nil, err
	}
	perm, replaces := os.FileMode(0o600), false
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("%s is a directory; name a file to write", target)
	case err == nil && !st.Mode().IsRegular():
		// The rename would replace a device (/dev/null) or a named pipe,
		// not write into it.
		return nil, fmt.Errorf("%s is not a regular file (%v); name a file to write", target, st.Mode().Type())
	case err == nil:
		perm, replaces = st.Mode().Perm(), true
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	default:
		if st, err := os.Stat(db.path); err == nil {
			perm = st.Mode().Perm()
		}
	}
	f, err := createTemp(paths.Dir(target), perm)
	if err != nil {
		return nil, err
	}
	b := &backupFile{File: f, target: target}
	if replaces { // exactly its permission: the umask may have narrowed it
		if err := f.Chmod(perm); err != nil {
			b.discard()
			return nil, err
		}
	}
	return b, nil
}

// write copies the database into the file and syncs it.
func (b *backupFile) write(ctx context.Context, db *DB) (n int64, err error) {
	err = db.protect("copying it", func() error {
		return db.bolt.View(func(btx *bolt.Tx) (err error) {
			n, err = btx.WriteTo(ctxWriter{ctx, b.File})
			return err
		})
	})
	if cerr := ctx.Err(); err != nil && cerr != nil {
		err = cerr // bbolt's WriteTo words the writer's error as text
	}
	if err == nil {
		err = b.Sync()
	}
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// commit renames the written file over the target and makes the rename
// durable.
func (b *backupFile) commit() error {
	if err := os.Rename(b.Name(), b.target); err != nil {
		return err
	}
	b.committed = true
	if d, err := os.Open(paths.Dir(b.target)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// discard removes the temporary file unless commit renamed it.
func (b *backupFile) discard() {
	b.Close() // a second Close only returns an error
	if !b.committed {
		os.Remove(b.Name())
	}
}

// createTemp creates a new file with permission perm (under the umask),
// named .soundalike-backup-* in dir (which ends in a separator, or is
// "."). os.CreateTemp's are always 0600.
func createTemp(dir string, perm fs.FileMode) (*os.File, error) {
	if dir == "." {
		dir = ""
	}
	for try := 0; ; try++ {
		name := dir + ".soundalike-backup-" + strconv.FormatUint(rand.Uint64(), 36)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
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

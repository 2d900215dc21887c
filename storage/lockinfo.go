package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Lock info: bbolt's lock (flock on the database file) says that a
// process holds the file, not which. So that a process left waiting can
// name the holder, each Open that gets the lock records itself in a
// sidecar file beside the database,
//
//	PATH.lock-info.PID.N    (N counts the opens of one process)
//
// holding one line, "COMMAND\tMODE\tSINCE" (MODE "reading" or "writing",
// SINCE in RFC 3339), and Close removes it. A process killed before Close
// leaves its file behind; Holders skips the files of processes that are
// gone, and it and the next Open remove them. The files are advice for messages only: the lock itself
// is bbolt's, and a directory where they cannot be written just gives
// messages without a holder.

// Holder is a process holding a database file's lock, as it recorded
// itself.
type Holder struct {
	Command string    // the program and its subcommand, e.g. "soundalike import"
	PID     int       // its process id
	Writing bool      // it holds the file to write (else to read)
	Since   time.Time // when it took the lock
}

func (h Holder) String() string {
	mode := "reading"
	if h.Writing {
		mode = "writing"
	}
	return fmt.Sprintf("%s (pid %d, %s since %s)", h.Command, h.PID, mode, h.Since.Local().Format(time.TimeOnly))
}

// lockInfoSeq numbers the lock-info files of this process.
var lockInfoSeq atomic.Uint64

const lockInfoSuffix = ".lock-info."

// defaultCommand names this process: its program and, when it has one,
// its subcommand (the first argument that is not a flag).
func defaultCommand() string {
	if len(os.Args) == 0 {
		return "a process"
	}
	cmd := filepath.Base(os.Args[0])
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		cmd += " " + os.Args[1]
	}
	return cmd
}

// writeLockInfo records this process as a holder of path's lock and
// returns the file to remove at Close ("" when it could not be written).
func writeLockInfo(path, command string, writing bool) string {
	if command == "" {
		command = defaultCommand()
	}
	mode := "reading"
	if writing {
		mode = "writing"
	}
	name := fmt.Sprintf("%s%s%d.%d", path, lockInfoSuffix, os.Getpid(), lockInfoSeq.Add(1))
	line := fmt.Sprintf("%s\t%s\t%s\n", strings.NewReplacer("\t", " ", "\n", " ").Replace(command), mode, time.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(name, []byte(line), 0o644); err != nil {
		return ""
	}
	return name
}

// Holders returns the processes recorded as holding path's lock (this
// one included: its own reload can hold what its write waits for),
// removing the records of processes that are gone.
func Holders(path string) []Holder {
	names, _ := filepath.Glob(globEscape(path) + lockInfoSuffix + "*")
	var hs []Holder
	for _, name := range names {
		pidSeq := strings.TrimPrefix(name, path+lockInfoSuffix)
		pidText, _, _ := strings.Cut(pidSeq, ".")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if !alive(pid) {
			os.Remove(name) // left by a process killed before Close
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		f := strings.Split(strings.TrimSpace(string(b)), "\t")
		if len(f) != 3 {
			continue
		}
		since, _ := time.Parse(time.RFC3339, f[2])
		hs = append(hs, Holder{Command: f[0], PID: pid, Writing: f[1] == "writing", Since: since})
	}
	return hs
}

// removeDeadHolders removes the lock-info files of path that processes
// killed before Close left (Holders does, as it reads them): an open
// that got the lock does, so that they do not pile up beside a database
// no process ever waits for. It costs a glob of the directory an open.
func removeDeadHolders(path string) { Holders(path) }

// alive reports whether process pid exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	// Only "no such process" is dead: EPERM is another user's process,
	// and Windows, whose processes take no signal 0, answers EWINDOWS for
	// a live one (FindProcess has failed for a gone one).
	err = p.Signal(syscall.Signal(0))
	return !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}

// globEscape escapes the glob metacharacters of a literal path.
func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// describeHolders says who holds the lock, for an error or a wait line.
func describeHolders(hs []Holder) string {
	if len(hs) == 0 {
		return "held by another process (it did not record itself: an older soundalike, or a directory it cannot write)"
	}
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.String()
	}
	return "held by " + strings.Join(parts, " and ")
}

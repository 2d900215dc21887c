// Package procfs reads the "Name: value" files of Linux's /proc that size
// a process and the machine: /proc/self/status, /proc/self/smaps_rollup
// and /proc/meminfo.
package procfs

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Read returns the values of the named fields of the file at path, in
// the order of names: a size in kB as bytes, a bare number as itself. It
// fails where the file cannot be read (systems other than Linux), where a
// field is missing, or where a value is neither.
func Read(path string, names ...string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b, names...)
}

// Parse is Read of the file at path whose contents are b. A field named
// twice in b has the value of its first line.
func Parse(path string, b []byte, names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	want := make(map[string]int, len(names))
	for i, name := range names {
		want[name] = i
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(want) > 0 {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		i, wanted := want[name]
		if !ok || !wanted {
			continue
		}
		v, ok := parseValue(rest)
		if !ok {
			return nil, fmt.Errorf("%s: %s: %q: want a number, or a number of kB", path, name, strings.TrimSpace(rest))
		}
		out[i] = v
		delete(want, name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, name := range names {
		if _, missing := want[name]; missing {
			return nil, fmt.Errorf("%s: no %s line: want the lines %s", path, name, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// parseValue reads "N kB" as N·1024 and "N" as N, for N ≥ 0 that fits.
func parseValue(s string) (int64, bool) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 || len(f) == 2 && f[1] != "kB" {
		return 0, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if len(f) == 2 {
		if n > math.MaxInt64>>10 {
			return 0, false
		}
		n <<= 10
	}
	return n, true
}

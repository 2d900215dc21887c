package procfs

import (
	"errors"
	"io/fs"
	"runtime"
	"strings"
	"testing"
)

// A serving process's smaps_rollup at 1M tracks with its heap on huge
// pages (most lines left out).
const rollup1M = `56116c74a000-7ffd14bec000 ---p 00000000 00:00 0                          [rollup]
Rss:              535232 kB
Anonymous:        524288 kB
AnonHugePages:    487424 kB
Private_Hugetlb:  251904 kB
`

// A part of /proc/meminfo: sizes in kB and a count of pages.
const meminfo = `MemTotal:       24575892 kB
HugePages_Total:     300
HugePages_Free:      178
Hugepagesize:       2048 kB
`

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		text  string
		names []string
		want  []int64
	}{
		{rollup1M, []string{"AnonHugePages", "Anonymous"}, []int64{487424 << 10, 524288 << 10}},
		{meminfo, []string{"HugePages_Free", "Hugepagesize"}, []int64{178, 2048 << 10}},
		{"Anonymous: 10 kB\nAnonymous: 20 kB\n", []string{"Anonymous"}, []int64{10 << 10}},
		{"VmRSS:\t   0 kB\n", []string{"VmRSS"}, []int64{0}},
		{meminfo, nil, []int64{}},
	} {
		got, err := Parse("f", []byte(tc.text), tc.names...)
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("Parse(%v) = %v, %v; want %v", tc.names, got, err, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("Parse(%v) = %v, want %v", tc.names, got, tc.want)
			}
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"missing", "Anonymous: 10 kB\n", "f: no AnonHugePages line: want the lines Anonymous, AnonHugePages"},
		{"too large", "Anonymous: 9007199254740992 kB\nAnonHugePages: 0 kB\n", `f: Anonymous: "9007199254740992 kB": want a number, or a number of kB`},
		{"pages", "Anonymous: 10 pages\nAnonHugePages: 0 kB\n", `f: Anonymous: "10 pages": want`},
		{"not a number", "Anonymous: 1e3 kB\nAnonHugePages: 0 kB\n", `f: Anonymous: "1e3 kB": want`},
		{"negative", "Anonymous: 10 kB\nAnonHugePages: -4 kB\n", `f: AnonHugePages: "-4 kB": want`},
		{"empty", "Anonymous:\nAnonHugePages: 0 kB\n", `f: Anonymous: "": want`},
		{"three words", "Anonymous: 1 2 kB\nAnonHugePages: 0 kB\n", `f: Anonymous: "1 2 kB": want`},
	} {
		_, err := Parse("f", []byte(tc.text), "Anonymous", "AnonHugePages")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestReadSelf reads this process's own status: a running test holds
// some resident memory, and more at its peak.
func TestReadSelf(t *testing.T) {
	v, err := Read("/proc/self/status", "VmRSS", "VmHWM")
	if runtime.GOOS != "linux" {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Read off Linux: %v, want a missing file", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if v[0] <= 0 || v[1] < v[0] {
		t.Fatalf("VmRSS %d, VmHWM %d bytes: want resident memory, and a peak at least that", v[0], v[1])
	}
}

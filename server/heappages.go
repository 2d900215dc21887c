package server

import "github.com/audotics/soundalike/internal/procfs"

// HeapPages is how the process's anonymous memory (the Go heap, stacks,
// the runtime's own structures and private copies of file pages; not the
// hugetlb pool) is backed: all of it, and the part on transparent huge
// pages.
type HeapPages struct {
	Anon, Huge int64 // bytes
}

// smapsRollup sums the process's mappings (Linux 4.14 and later).
const smapsRollup = "/proc/self/smaps_rollup"

// ReadHeapPages reads the process's HeapPages from /proc/self/smaps_rollup
// (its Anonymous and AnonHugePages lines). It fails where that file does
// not exist (systems other than Linux).
func ReadHeapPages() (HeapPages, error) {
	v, err := procfs.Read(smapsRollup, "Anonymous", "AnonHugePages")
	if err != nil {
		return HeapPages{}, err
	}
	return HeapPages{Anon: v[0], Huge: v[1]}, nil
}

// basePagesWarnMin is the anonymous memory on 4 KiB pages from which
// OnBasePages holds. On the project's virtual machine under DAMON, a bare
// server holding 400 MiB of them, never read, had a client p99 of 5.3–73 ms
// at half its peak; holding 50 MiB, or 400 MiB on huge pages, it kept
// its 1.2–2.3 ms (docs/benchmarks.md, issue 17).
const basePagesWarnMin = 256 << 20

// OnBasePages reports whether most of the anonymous memory, and at least
// basePagesWarnMin of it, lies on 4 KiB pages: serving a large snapshot
// from such a heap can cost the latency tail milliseconds, as it did on
// the project's virtual machine (docs/scaling.md).
func (hp HeapPages) OnBasePages() bool {
	base := hp.Anon - hp.Huge
	return base >= basePagesWarnMin && base > hp.Anon/2
}

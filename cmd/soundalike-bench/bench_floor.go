//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/audotics/soundalike/internal/hugepages"
)

func init() {
	benchModes["floor"] = benchMode{"a baseline HTTP server with none of soundalike's code: a fixed answer after set CPU work and random reads of memory, for bench client", runBenchFloor}
}

// floorConfig is one baseline server: what each request costs it.
type floorConfig struct {
	BodyBytes int    // size of the fixed answer
	Work      int    // rounds of integer arithmetic a request
	MemoryMiB int    // size of the array the reads go to
	Reads     int    // random 256-byte reads (64-d dot products) a request
	Pages     string // what backs the array: thp, hugetlb or base
}

// floorPages are the kinds of memory --pages accepts.
var floorPages = []string{"thp", "hugetlb", "base"}

// floorVector is the words of one read: 256 bytes, an index block at the
// serving dimension (a 64-d vector in halves and its 32 layer-0 links).
const floorVector = 64

func runBenchFloor(ctx context.Context, args []string, stdio stdio) error {
	var cfg floorConfig
	fs := newFlagSet("floor", stdio)
	addr := fs.String("addr", "127.0.0.1:8090", "`address` to listen on (host:port)")
	fs.IntVar(&cfg.BodyBytes, "body-bytes", 2500, "size of the answer in `bytes` (a /similar answer at k=20 is about 2,500)")
	fs.IntVar(&cfg.Work, "work", 0, "rounds of integer arithmetic a request (about 2 ns each): its CPU work")
	fs.IntVar(&cfg.MemoryMiB, "memory", 0, "size in `MiB` of the array --reads read, written once at start")
	fs.IntVar(&cfg.Reads, "reads", 0, "random 256-byte reads of the --memory array a request (64-d float32 dot products, as a search visits vectors)")
	fs.StringVar(&cfg.Pages, "pages", "thp", "what backs the array: thp (transparent huge pages, as serve's heap), hugetlb (the pool reserved by vm.nr_hugepages) or base (4 KiB pages)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("floor: unexpected argument %q", fs.Arg(0))
	}
	f, err := newFloor(cfg)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	defer f.close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("floor: --addr: %w", err)
	}
	hs := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	fmt.Fprintf(stdio.out, "floor: listening on http://%s (%d-byte answers, work %d, %d reads of %d MiB on %s pages); stop with Ctrl-C\n",
		ln.Addr(), cfg.BodyBytes, cfg.Work, cfg.Reads, cfg.MemoryMiB, cfg.Pages)
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("floor: %w", err)
	}
	return nil
}

// floor is the baseline server's state: its answer and the array its
// reads go to.
type floor struct {
	cfg   floorConfig
	body  []byte
	mem   []byte    // the mapping, unmapped by close
	vecs  []float32 // mem as vectors
	query [floorVector]float32
	sink  atomic.Uint64
}

// newFloor checks cfg, maps and writes the array, and builds the answer.
func newFloor(cfg floorConfig) (*floor, error) {
	switch {
	case cfg.BodyBytes < 16 || cfg.BodyBytes > 1<<20:
		return nil, usagef("--body-bytes %d: want 16..1048576", cfg.BodyBytes)
	case cfg.Work < 0:
		return nil, usagef("--work %d: want ≥ 0", cfg.Work)
	case cfg.Reads < 0:
		return nil, usagef("--reads %d: want ≥ 0", cfg.Reads)
	case cfg.MemoryMiB < 0 || cfg.MemoryMiB > 1<<20:
		return nil, usagef("--memory %d: want 0..1048576 MiB", cfg.MemoryMiB)
	case cfg.Reads > 0 && cfg.MemoryMiB == 0:
		return nil, usagef("--reads %d needs --memory: the size of the array to read", cfg.Reads)
	case !slices.Contains(floorPages, cfg.Pages):
		return nil, usagef("--pages %q: want one of %s", cfg.Pages, strings.Join(floorPages, ", "))
	}
	f := &floor{cfg: cfg, body: floorBody(cfg.BodyBytes)}
	for i := range f.query {
		f.query[i] = float32(i) / floorVector
	}
	if cfg.MemoryMiB == 0 {
		return f, nil
	}
	size := cfg.MemoryMiB << 20
	flags := syscall.MAP_ANON | syscall.MAP_PRIVATE
	if cfg.Pages == "hugetlb" {
		flags |= syscall.MAP_HUGETLB
	}
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, flags)
	if err != nil {
		if cfg.Pages == "hugetlb" {
			return nil, fmt.Errorf("--pages hugetlb: mapping %d MiB: %w: it needs %d free 2 MiB pages in the pool that sysctl vm.nr_hugepages reserves", cfg.MemoryMiB, err, size/hugepages.Size)
		}
		return nil, fmt.Errorf("--memory %d: %w", cfg.MemoryMiB, err)
	}
	if cfg.Pages == "thp" {
		hugepages.Advise(unsafe.Pointer(unsafe.SliceData(mem)), uintptr(size))
	}
	f.mem = mem
	f.vecs = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(mem))), size/4)
	for i := range f.vecs {
		f.vecs[i] = float32(i%97) / 97
	}
	return f, nil
}

// floorBody is a JSON object of n bytes.
func floorBody(n int) []byte {
	const open, end = `{"floor":"`, `"}`
	return []byte(open + strings.Repeat("x", n-len(open)-len(end)) + end)
}

func (f *floor) close() {
	if f.mem != nil {
		syscall.Munmap(f.mem)
		f.mem, f.vecs = nil, nil
	}
}

// ServeHTTP does a request's work and reads, then answers the body.
func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := uint64(88172645463325252)
	for range f.cfg.Work {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	var s float32
	if n := len(f.vecs) / floorVector; n > 0 {
		for range f.cfg.Reads {
			v := f.vecs[rand.IntN(n)*floorVector:][:floorVector]
			for i, a := range f.query {
				s += a * v[i]
			}
		}
	}
	f.sink.Add(x ^ uint64(math.Float32bits(s))) // keeps the work from being optimised away
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.body)))
	w.Write(f.body)
}

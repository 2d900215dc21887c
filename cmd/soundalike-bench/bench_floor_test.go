//go:build linux

package main

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audotics/soundalike/internal/procfs"
)

// The floor server answers every request with its fixed JSON body, and
// bench client, which checks status and length, measures it without
// errors.
func TestBenchFloor(t *testing.T) {
	f, err := newFloor(floorConfig{BodyBytes: 300, Work: 1000, MemoryMiB: 4, Reads: 50, Pages: "thp"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if len(f.vecs) != 4<<20/4 || f.vecs[len(f.vecs)-1] == 0 {
		t.Fatalf("array of %d floats, last %v: want 4 MiB of floats, written", len(f.vecs), f.vecs[len(f.vecs)-1])
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/similar?k=20&track=")
	ids := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(ids, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t.Context(), "client", "--url", u.String(), "--ids", ids, "--conns", "2",
		"--duration", "200ms", "--warmup", "0s", "--json")
	if err != nil {
		t.Fatalf("bench client: %v", err)
	}
	var rep clientReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Errors != 0 {
		t.Fatalf("client = %+v, want requests and no errors", rep)
	}
	if f.sink.Load() == 0 {
		t.Error("no request did the work")
	}
	var body map[string]string
	if err := json.Unmarshal(f.body, &body); err != nil || len(f.body) != 300 {
		t.Errorf("answer %d bytes, %v: want 300 bytes of JSON", len(f.body), err)
	}
}

// A flag outside what the floor accepts is refused naming it; a
// hugetlb array larger than the reserved pool says how to reserve it.
func TestBenchFloorRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"--reads", "5"},
		{"--pages", "giant"},
		{"--body-bytes", "3"},
		{"--work", "-1"},
	} {
		_, _, err := runCmd(t.Context(), append([]string{"floor", "--addr", "127.0.0.1:0"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("floor %v: err = %v, want one naming %s", args, err, args[0])
		}
	}
	free, err := procfs.Read("/proc/meminfo", "HugePages_Free")
	if err != nil {
		t.Skip(err)
	}
	if free[0] != 0 {
		t.Skipf("%d huge pages are free here: the refusal needs an empty pool", free[0])
	}
	_, err = newFloor(floorConfig{BodyBytes: 100, MemoryMiB: 4, Reads: 1, Pages: "hugetlb"})
	if err == nil || !strings.Contains(err.Error(), "vm.nr_hugepages") {
		t.Errorf("hugetlb with an empty pool: err = %v, want one naming vm.nr_hugepages", err)
	}
}

package server

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHugeHeapSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	if got := HugeHeapSize(path); got != 0 {
		t.Errorf("missing file: HugeHeapSize = %d, want 0", got)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{0, hugeHeapMinFile - 1, hugeHeapMinFile, 3 * hugeHeapMinFile} {
		if err := os.Truncate(path, size); err != nil { // sparse: no disk used
			t.Fatal(err)
		}
		want := int64(0)
		if size >= hugeHeapMinFile {
			want = hugeHeapFactor * size
		}
		if got := HugeHeapSize(path); got != want {
			t.Errorf("a %d-byte file: HugeHeapSize = %d, want %d", size, got, want)
		}
	}
}

package soundalike_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
)

var (
	fuzzBaseOnce sync.Once
	fuzzBase     []byte
	fuzzBaseErr  error
)

// smallDB is a database of 60 tracks with interactions, a model and an
// index, built once: the file FuzzOpenDamaged mutates.
func smallDB() ([]byte, error) {
	fuzzBaseOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fuzzbase")
		if err != nil {
			fuzzBaseErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "small.db")
		fuzzBaseErr = buildSmallDB(path)
		if fuzzBaseErr == nil {
			fuzzBase, fuzzBaseErr = os.ReadFile(path)
		}
	})
	return fuzzBase, fuzzBaseErr
}

func buildSmallDB(path string) error {
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer eng.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for i := range 60 {
			tr := synth.SmallTrack(rng, i)
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
			ia := &soundalike.Interaction{User: fmt.Sprintf("u%d", i%7), Track: tr.ID, Action: "play"}
			if _, err := tx.PutInteraction(ia); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	m, err := synth.Model(1, []int{8}, 4)
	if err != nil {
		return err
	}
	if _, err := eng.SaveModel(ctx, m, soundalike.ModelRun{}); err != nil {
		return err
	}
	_, err = eng.Reindex(ctx, nil)
	return err
}

// FuzzOpenDamaged opens, loads, queries and checks mutated copies of a
// small database: bytes XORed at an offset, and the file cut short. None
// may panic or crash the process; damage is an error.
func FuzzOpenDamaged(f *testing.F) {
	base, err := smallDB()
	if err != nil {
		f.Fatal(err)
	}
	pages := uint32(len(base) / 4096)
	step := uint32(1)
	if testing.Short() {
		step = 4 // CI's race run
	}
	for pg := uint32(0); pg < min(pages, 24); pg += step {
		f.Add(pg*4096, []byte{0xff, 0x00, 0x13, 0x37, 0xff, 0xff, 0xff, 0x7f}, uint32(0))
		f.Add(pg*4096+16, []byte{0x80, 0x80, 0x80, 0x80}, uint32(0))
		f.Add(pg*4096+600, []byte("damage, damage, damage"), uint32(0))
	}
	for _, size := range []uint32{4096, 8192, 16384, uint32(len(base)) / 2} {
		f.Add(uint32(0), []byte{}, size)
	}
	f.Fuzz(func(t *testing.T, off uint32, xor []byte, size uint32) {
		data := append([]byte(nil), base...)
		for i, b := range xor {
			data[(int(off)+i)%len(data)] ^= b
		}
		if size > 0 {
			data = data[:int(size)%len(data)]
		}
		path := filepath.Join(t.TempDir(), "fuzz.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
		if err != nil {
			return
		}
		defer eng.Close()
		ctx := context.Background()
		eng.Similar(ctx, synth.SmallTrack(rand.New(rand.NewPCG(5, 6)), 0).ID, 5, nil)
		eng.Check(ctx)
		eng.Counts()
		eng.Models(ctx)
		eng.Interactions(ctx, nil)
	})
}

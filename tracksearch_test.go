package soundalike_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

// searchEngine is an engine on the given tracks, with no model: track
// search needs none.
func searchEngine(t testing.TB, tracks []*soundalike.Track) *soundalike.Engine {
	t.Helper()
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "search.db"), &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	putTracks(t, eng, tracks...)
	return eng
}

// putTracks imports tracks into eng in one transaction.
func putTracks(t testing.TB, eng *soundalike.Engine, tracks ...*soundalike.Track) {
	t.Helper()
	err := eng.Import(context.Background(), func(tx *soundalike.ImportTx) error {
		for _, tr := range tracks {
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func named(id, name string, popularity int, artists ...string) *soundalike.Track {
	return &soundalike.Track{ID: soundalike.TrackID(id), Name: name, Artists: artists, Popularity: popularity,
		Features: soundalike.Features{Tempo: 120, Loudness: -5, Danceability: float64(len(id)) / 100}}
}

func TestSearchTracks(t *testing.T) {
	eng := searchEngine(t, []*soundalike.Track{
		named("bl", "Blinding Lights", 90, "The Weeknd"),
		named("bl-remix", "Blinding Lights - Remix", 60, "The Weeknd", "ROSALÍA"),
		named("bl-cover", "Blinding Lights", 20, "Some Covers Band"),
		named("starboy", "Starboy", 85, "The Weeknd", "Daft Punk"),
		named("lights", "Lights", 70, "Ellie Goulding"),
		named("lightning", "Lightning Bolt", 95, "Jake Bugg"),
		named("halo", "Halo", 80, "Beyoncé"),
		named("dont", "Don’t Start Now", 88, "Dua Lipa"),
		named("sos", "S.O.S.", 40, "ABBA"),
		named("tusa", "Tusa", 75, "KAROL G", "Nicki Minaj"),
		named("strasse", "Straße", 10, "Die Ärzte"),
	})
	ctx := context.Background()
	cases := []struct {
		q    string
		k    int
		want []string
	}{
		{"blinding lights weeknd", 10, []string{"bl", "bl-remix"}},
		{"blinding lights", 10, []string{"bl", "bl-remix", "bl-cover"}},
		{"Blinding LIGHTS", 2, []string{"bl", "bl-remix"}},
		// the last word is also a prefix: whole-word matches first, then by popularity
		{"blinding lig", 10, []string{"bl", "bl-remix", "bl-cover"}},
		{"light", 10, []string{"lightning", "bl", "lights", "bl-remix", "bl-cover"}},
		{"lights", 10, []string{"bl", "lights", "bl-remix", "bl-cover"}},
		{"weeknd", 10, []string{"bl", "starboy", "bl-remix"}},
		{"the weeknd daft", 10, []string{"starboy"}},
		{"beyonce", 10, []string{"halo"}},
		{"BEYONCÉ halo", 10, []string{"halo"}},
		{"rosalia", 10, []string{"bl-remix"}},
		{"don't start", 10, []string{"dont"}},
		{"dont start now dua lipa", 10, []string{"dont"}},
		{"sos abba", 10, []string{"sos"}},
		{"strasse arzte", 10, []string{"strasse"}},
		{"nicki", 10, []string{"tusa"}},
		{"weeknd nothing", 10, nil},
		{"zzz", 10, nil},
		{"l", 3, []string{"lightning", "bl", "dont"}}, // dua Lipa
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("given the catalogue, when SearchTracks(%q, %d), expect %v", tc.q, tc.k, tc.want), func(t *testing.T) {
			got, err := eng.SearchTracks(ctx, tc.q, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, tr := range got {
				ids = append(ids, string(tr.ID))
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("SearchTracks(%q) = %v, want %v", tc.q, ids, tc.want)
			}
		})
	}
	t.Run("given results, when the caller changes them, expect the catalogue unchanged", func(t *testing.T) {
		got, _ := eng.SearchTracks(ctx, "starboy", 1)
		got[0].Artists[0] = "changed"
		again, _ := eng.SearchTracks(ctx, "starboy", 1)
		if again[0].Artists[0] != "The Weeknd" {
			t.Errorf("after changing a result, the catalogue's track reads %v", again[0].Artists)
		}
	})
	for _, bad := range []struct {
		q string
		k int
	}{{"halo", 0}, {"halo", soundalike.MaxSearchK + 1}, {"", 10}, {" -- !! ", 10}} {
		if _, err := eng.SearchTracks(ctx, bad.q, bad.k); !errors.Is(err, soundalike.ErrInvalidQuery) {
			t.Errorf("SearchTracks(%q, %d) = %v, want ErrInvalidQuery", bad.q, bad.k, err)
		}
	}
	t.Run("given texts with and without words, when CheckSearchText, expect SearchTracks' own refusal and no other", func(t *testing.T) {
		for _, q := range []string{"", " -- !! ", "🎵", "\u0301", "halo", "É", "٣", "don't"} {
			_, searchErr := eng.SearchTracks(ctx, q, 10)
			if err := soundalike.CheckSearchText(q); fmt.Sprint(err) != fmt.Sprint(searchErr) {
				t.Errorf("CheckSearchText(%q) = %v; SearchTracks says %v", q, err, searchErr)
			}
		}
	})
	t.Run("given a loaded catalogue, when SearchTracks with its ctx done, expect ctx's error and no tracks", func(t *testing.T) {
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if got, err := eng.SearchTracks(canceled, "halo", 10); !errors.Is(err, context.Canceled) || got != nil {
			t.Errorf("SearchTracks(canceled ctx) = %v, %v; want context.Canceled", got, err)
		}
		expired, cancel := context.WithDeadline(ctx, time.Unix(1, 0))
		defer cancel()
		if got, err := eng.SearchTracks(expired, "halo", 10); !errors.Is(err, context.DeadlineExceeded) || got != nil {
			t.Errorf("SearchTracks(expired ctx) = %v, %v; want context.DeadlineExceeded", got, err)
		}
	})
	t.Run("given an import, when SearchTracks, expect the new track found", func(t *testing.T) {
		err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
			_, _, err := tx.PutTrack(named("new", "Levitating", 99, "Dua Lipa"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := eng.SearchTracks(ctx, "dua", 10)
		if err != nil || len(got) != 2 || got[0].ID != "new" {
			t.Errorf("SearchTracks(dua) = %v, %v; want new, dont", got, err)
		}
	})
}

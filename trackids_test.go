package soundalike_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/audotics/soundalike"
)

// Given a catalogue keyed by the app's ids where tracks share Spotify
// ids, one stored under its Spotify id, ResolveAllTracks names, for each
// reference, the track ResolveTracks finds, first, and, for one that
// reads as a Spotify id (bare, a URI or a link), every other track stored
// under or holding it; none for a reference naming no track; and a
// *TrackRefError naming the index of one no stored id could be.
func TestResolveAllTracks(t *testing.T) {
	ctx := t.Context()
	eng := MustOpen(t)
	err := eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for _, tr := range []*soundalike.Track{
			appTrack("uuid-a", spotifyA),
			appTrack("uuid-b", spotifyB), appTrack("uuid-b2", spotifyB), // uuid-b2 added last
			appTrack(spotifyC, spotifyC), appTrack("uuid-c", spotifyC), // one copy stored under it
			appTrack("t0001", ""), // a catalogue's own id, of a Spotify id's form
		} {
			if _, _, err := tx.PutTrack(tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  soundalike.TrackID
		want []soundalike.TrackID
	}{
		{"uuid-b", []soundalike.TrackID{"uuid-b"}}, // an app's id names its track alone
		{spotifyB, []soundalike.TrackID{"uuid-b2", "uuid-b"}},
		{"spotify:track:" + spotifyA, []soundalike.TrackID{"uuid-a"}},
		{"https://open.spotify.com/track/" + spotifyC + "?si=x", []soundalike.TrackID{spotifyC, "uuid-c"}},
		{" uuid-c ", []soundalike.TrackID{"uuid-c"}},
		{"t0001", []soundalike.TrackID{"t0001"}},
		{spotifyD, nil},
		{"spotify:album:" + spotifyA, nil},
	}
	var refs []soundalike.TrackID
	for _, tc := range tests {
		refs = append(refs, tc.ref)
	}
	got, err := eng.ResolveAllTracks(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	one, err := eng.ResolveTracks(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		if !slices.Equal(got[i], tc.want) {
			t.Errorf("ResolveAllTracks: %q names %q, want %q", tc.ref, got[i], tc.want)
		}
		var first soundalike.TrackID
		if len(got[i]) > 0 {
			first = got[i][0]
		}
		if first != one[i] {
			t.Errorf("ResolveAllTracks: %q names %q first, ResolveTracks %q; want the same track", tc.ref, first, one[i])
		}
	}
	_, err = eng.ResolveAllTracks(ctx, []soundalike.TrackID{spotifyB, "uuid-a", "a\x00b"})
	if re, ok := errors.AsType[*soundalike.TrackRefError](err); !ok || re.Option != "refs" || re.Index != 2 {
		t.Errorf("ResolveAllTracks of a reference holding a NUL byte: %v, want a *TrackRefError naming refs[2]", err)
	}
}

// ForEachTrackID lists the ids ForEachTrack lists, in id order, and stops
// at fn's error.
func TestForEachTrackID(t *testing.T) {
	ctx := t.Context()
	eng, _ := fixture(t, filepath.Join(t.TempDir(), "ids.db"), 50)
	var ids, want []soundalike.TrackID
	if err := eng.ForEachTrackID(ctx, func(id soundalike.TrackID) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := eng.ForEachTrack(ctx, func(tr *soundalike.Track) error { want = append(want, tr.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || !slices.Equal(ids, want) {
		t.Errorf("ForEachTrackID listed %d ids %q…, want ForEachTrack's %d", len(ids), ids[:min(3, len(ids))], len(want))
	}
	stop := errors.New("stop")
	n := 0
	if err := eng.ForEachTrackID(ctx, func(soundalike.TrackID) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("ForEachTrackID whose fn fails = %v after %d calls, want its error after 1", err, n)
	}
	if err := eng.ForEachTrackID(ctx, nil); err == nil {
		t.Error("ForEachTrackID(nil) = nil, want an error")
	}
}

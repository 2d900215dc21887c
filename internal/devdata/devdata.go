// Package devdata loads the shared Spotify dev CSV for the model's
// experiments until the ingest package's readers land. Temporary.
package devdata

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/audotics/soundalike"
)

// DefaultPath is the shared dev file.
const DefaultPath = "/work/shared/data/spotify_songs_dev.csv.gz"

// Load reads the dev CSV (gzip or plain): one track per distinct
// track_id (genres accumulated) and one addToPlaylist interaction per row,
// with the playlist as the user.
func Load(path string) ([]soundalike.Track, []soundalike.Interaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, err
		}
		r = gz
	}
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	var tracks []soundalike.Track
	byID := map[string]int{}
	var ins []soundalike.Interaction
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		get := func(n string) string { return rec[col[n]] }
		num := func(n string) float64 {
			v, err := strconv.ParseFloat(get(n), 64)
			if err != nil {
				panic(fmt.Sprintf("%s:%d: %s: %v", path, line, n, err))
			}
			return v
		}
		id := get("track_id")
		i, ok := byID[id]
		if !ok {
			t := soundalike.Track{ID: soundalike.TrackID(id), Name: get("track_name"), Artists: []string{get("track_artist")},
				Album: get("track_album_name"), Popularity: int(num("track_popularity")), DurationMS: int(num("duration_ms")),
				ReleaseDate: get("track_album_release_date")}
			for fi, n := range soundalike.FeatureNames {
				t.Features.Set(fi, num(n))
			}
			i = len(tracks)
			byID[id] = i
			tracks = append(tracks, t)
		}
		t := &tracks[i]
		if g := get("playlist_genre"); g != "" && !slices.Contains(t.Genres, g) {
			t.Genres = append(t.Genres, g)
		}
		if g := get("playlist_subgenre"); g != "" && !slices.Contains(t.Subgenres, g) {
			t.Subgenres = append(t.Subgenres, g)
		}
		ins = append(ins, soundalike.Interaction{User: get("playlist_id"), Track: soundalike.TrackID(id), Action: soundalike.ActionAddToPlaylist})
	}
	return tracks, ins, nil
}

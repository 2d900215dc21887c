package soundalike_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/server"
	"github.com/audotics/soundalike/trainer"
)

// exampleDir holds the databases the examples build; TestMain removes it.
var exampleDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "soundalike-example-")
	if err != nil {
		log.Fatal(err)
	}
	exampleDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	readyOnce sync.Once
	readyPath string
)

// readyDB builds, once, a database with the testdata sample imported, a
// model trained and the index built, the way the Example shows.
func readyDB() string {
	readyOnce.Do(func() {
		readyPath = filepath.Join(exampleDir, "ready.db")
		eng, err := soundalike.Open(readyPath, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer eng.Close()
		if err := importFile(context.Background(), eng, "testdata/spotify_sample.csv"); err != nil {
			log.Fatal(err)
		}
		if err := trainAndIndex(context.Background(), eng, 3); err != nil {
			log.Fatal(err)
		}
	})
	return readyPath
}

func importFile(ctx context.Context, eng *soundalike.Engine, path string) error {
	return eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		src, err := ingest.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = ingest.Run(ctx, src, tx, nil)
		return err
	})
}

func trainAndIndex(ctx context.Context, eng *soundalike.Engine, epochs int) error {
	tracks, err := eng.Tracks(ctx)
	if err != nil {
		return err
	}
	cfg := trainer.DefaultConfig()
	cfg.Epochs = epochs
	plays, err := eng.Interactions(ctx, cfg.Actions)
	if err != nil {
		return err
	}
	res, err := trainer.Train(ctx, tracks, plays, cfg)
	if err != nil {
		return err
	}
	// The run's record (its config, figures and epochs) is stored beside
	// the model: GET /model and the explorer show it.
	run, err := res.ModelRun()
	if err != nil {
		return err
	}
	if _, err := eng.SaveModel(ctx, res.Model, run); err != nil {
		return err
	}
	_, err = eng.Reindex(ctx, nil)
	return err
}

// The whole pipeline: import a catalogue, train a model, build the index,
// ask for similar tracks.
func Example() {
	ctx := context.Background()
	eng, err := soundalike.Open(filepath.Join(exampleDir, "music.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	// Import a CSV of tracks (one row per track and playlist).
	if err := importFile(ctx, eng, "testdata/spotify_sample.csv"); err != nil {
		log.Fatal(err)
	}
	counts, _ := eng.Counts()
	fmt.Println("tracks:", counts.Tracks, "users:", counts.Users)

	// Train (a short run here; `soundalike train` defaults to 50 epochs),
	// then embed every track and build the index.
	if err := trainAndIndex(ctx, eng, 2); err != nil {
		log.Fatal(err)
	}

	res, err := eng.Similar(ctx, "0sf12qNH5qcw8qpgymFOqD", 5, nil) // Blinding Lights
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("results:", len(res.Neighbors), "model:", res.Model)
	// Output:
	// tracks: 3041 users: 42
	// results: 5 model: v1
}

func ExampleEngine_Similar() {
	ctx := context.Background()
	eng, err := soundalike.Open(readyDB(), &soundalike.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	query := soundalike.TrackID("0sf12qNH5qcw8qpgymFOqD") // Blinding Lights
	res, err := eng.Similar(ctx, query, 20, &soundalike.SearchOptions{ExcludeArtist: true})
	if err != nil {
		log.Fatal(err)
	}
	// The results carry the query track, each neighbour's track and the
	// model that answered, all from one snapshot.
	ns := res.Neighbors
	self, sorted, sameArtist := false, true, false
	for i, n := range ns {
		self = self || n.ID == query
		sorted = sorted && (i == 0 || ns[i-1].Score >= n.Score)
		sameArtist = sameArtist || slices.Contains(n.Track.Artists, res.Query.Artists[0])
	}
	fmt.Println(res.Query.Name, "by", res.Query.Artists[0])
	fmt.Println(len(ns), "results; contains the query:", self, "; closest first:", sorted, "; by The Weeknd:", sameArtist)
	// Output:
	// Blinding Lights by The Weeknd
	// 20 results; contains the query: false ; closest first: true ; by The Weeknd: false
}

func ExampleEngine_SimilarTo() {
	ctx := context.Background()
	eng, err := soundalike.Open(readyDB(), &soundalike.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	// Cold start: a track that is not in the catalogue, by its features.
	newTrack := &soundalike.Track{Features: soundalike.Features{
		Acousticness: 0.1, Danceability: 0.8, Energy: 0.7, Key: 5, Liveness: 0.1,
		Loudness: -5, Mode: 1, Speechiness: 0.05, Tempo: 120, Valence: 0.6,
	}}
	byFeatures, err := eng.SimilarTo(ctx, soundalike.Query{Track: newTrack}, 10, nil)
	if err != nil {
		log.Fatal(err)
	}
	// Several seeds: the mean of their embeddings; the seeds are excluded.
	seeds := []soundalike.TrackID{"0sf12qNH5qcw8qpgymFOqD", "7k4t7uLgtOxPwTpFmtJNTY"}
	bySeeds, err := eng.SimilarTo(ctx, soundalike.Query{Tracks: seeds}, 10, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(byFeatures.Neighbors), len(bySeeds.Neighbors))
	// Output: 10 10
}

// A recommender mounts the HTTP API on its own mux.
func ExampleEngine_server() {
	eng, err := soundalike.Open(readyDB(), &soundalike.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	mux := http.NewServeMux()
	mux.Handle("/soundalike/", http.StripPrefix("/soundalike", server.New(eng, nil)))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/soundalike/similar?track=0sf12qNH5qcw8qpgymFOqD&k=3", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 application/json
}

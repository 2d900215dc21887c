// Command exp trains on the dev CSV for experiments. Temporary.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/audotics/soundalike/internal/devdata"
	"github.com/audotics/soundalike/trainer"
)

func main() {
	cfg := trainer.DefaultConfig()
	flag.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "")
	flag.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "")
	flag.Float64Var(&cfg.LearningRate, "learning-rate", cfg.LearningRate, "")
	flag.Float64Var(&cfg.DropoutRate, "dropout-rate", cfg.DropoutRate, "")
	flag.Float64Var(&cfg.Temperature, "temperature", cfg.Temperature, "")
	flag.StringVar(&cfg.Loss, "loss", cfg.Loss, "")
	flag.StringVar(&cfg.Features, "features", cfg.Features, "")
	flag.IntVar(&cfg.MaxPairsPerUser, "max-pairs-per-user", cfg.MaxPairsPerUser, "")
	flag.IntVar(&cfg.Patience, "patience", cfg.Patience, "")
	flag.IntVar(&cfg.EmbeddingSize, "embedding-size", cfg.EmbeddingSize, "")
	layers := flag.String("hidden-layers", "128,64", "")
	seed := flag.Uint64("seed", 1, "")
	flag.Parse()
	cfg.Seed = *seed
	var err error
	if cfg.HiddenLayers, err = trainer.ParseLayers(*layers); err != nil {
		panic(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	tracks, ins, err := devdata.Load(devdata.DefaultPath)
	if err != nil {
		panic(err)
	}
	t0 := time.Now()
	res, err := trainer.Train(context.Background(), tracks, ins, cfg)
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(res.Final)
	fmt.Println(string(b))
	fmt.Print(res.Final.Report.String())
	fmt.Printf("ratio %.2f, best epoch %d, %s\n", res.Final.Model.Precision/res.Final.RawFeatures.Precision, res.BestEpoch, time.Since(t0).Round(time.Second))
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/outfile"
	"github.com/audotics/soundalike/internal/paths"
	"github.com/audotics/soundalike/trainer"
)

func init() {
	register(command{name: "runs", summary: "list training runs (model versions) with their config and validation figures", run: runRuns})
}

// runLine is one line of a run's JSON Lines log.
type runLine struct {
	Type string `json:"type"` // config, epoch, final
	Run  string `json:"run"`
	Time string `json:"time,omitempty"`

	Config *trainer.RunConfig    `json:"config,omitempty"`
	Epoch  *trainer.EpochMetrics `json:"epoch,omitempty"`
	Final  *trainer.Final        `json:"final,omitempty"`

	Warnings []string `json:"warnings,omitempty"`
	Seconds  float64  `json:"seconds,omitempty"`
}

// defaultRunsDir is where train writes run files by default: runs/ beside
// the database file.
func defaultRunsDir(dbPath string) string { return filepath.Join(filepath.Dir(dbPath), "runs") }

// runFileStem names a run's files after its database and the run, as in
// dev-v3 for run v3 of dev.db, so that two databases in one folder never
// overwrite each other's runs.
func runFileStem(dbPath, run string) string {
	base := filepath.Base(dbPath)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	return base + "-" + run
}

// staleTempAge is how old a run file's temporary file must be to be taken
// for one left by a killed train: writing one takes well under a second,
// and a train writing beside this one must keep its own.
const staleTempAge = 10 * time.Minute

// removeStaleTemps removes the temporary files (.soundalike-*, and the
// .plot-* of earlier versions) that a train killed while saving its run
// files left in dir.
func removeStaleTemps(dir string) {
	for _, pattern := range []string{".plot-*", ".soundalike-*"} {
		names, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, name := range names {
			if fi, err := os.Lstat(name); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTempAge {
				os.Remove(name)
			}
		}
	}
}

// checkRunsDir refuses, before training, a --runs directory that the run
// files could not be written in: a file that is not a directory, or a
// directory that does not exist in one that does not either. train
// creates only the last level, as mkdir does, so that a mistyped path is
// refused as --out's is rather than grown into a tree of directories.
func checkRunsDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return usagef("--runs %s: is not a directory; give the directory for the run files", dir)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return usagef("--runs %s: %v", dir, err)
	}
	parent := paths.Dir(strings.TrimRight(dir, string(os.PathSeparator))) // as the system resolves it
	st, err = os.Stat(parent)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("--runs %s: the directory %s does not exist; create it first, or name a directory in one that exists (train creates only the last level)", dir, parent)
	case errors.Is(err, syscall.ENOTDIR) || err == nil && !st.IsDir():
		return usagef("--runs %s: %s is not a directory", dir, parent)
	case err != nil:
		return usagef("--runs %s: %v", dir, err)
	}
	return nil
}

// writeRunFiles writes dir/<stem>.jsonl (config, one line per epoch, the
// final figures) and dir/<stem>.png (the curves) of the run. It creates
// dir, but not its parent (checkRunsDir).
func writeRunFiles(dir, stem, run string, res *trainer.Result) (logPath, plotPath string, err error) {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", "", err
	}
	removeStaleTemps(dir)
	var b []byte
	add := func(l runLine) {
		l.Run = run
		j, _ := json.Marshal(l)
		b = append(append(b, j...), '\n')
	}
	add(runLine{Type: "config", Time: time.Now().UTC().Format(time.RFC3339), Config: &res.Config})
	for i := range res.Epochs {
		add(runLine{Type: "epoch", Epoch: &res.Epochs[i]})
	}
	add(runLine{Type: "final", Final: &res.Final, Warnings: res.Warnings, Seconds: res.Duration.Seconds()})
	logPath = filepath.Join(dir, stem+".jsonl")
	if err := writeFileAtomic(logPath, b); err != nil {
		return "", "", err
	}
	plotPath = filepath.Join(dir, stem+".png")
	if err := plotRun(plotPath, run, res); err != nil {
		return logPath, "", err
	}
	return logPath, plotPath, nil
}

// plotRun draws the loss curves and the validation precision and spread.
func plotRun(path, run string, res *trainer.Result) error {
	// A figure an epoch lacks (NaN: the validation loss of a run without
	// validation pairs) is left out of its curve, which plotter refuses.
	series := func(f func(m trainer.EpochMetrics) float64) plotter.XYs {
		var xy plotter.XYs
		for _, m := range res.Epochs {
			if y := f(m); !math.IsNaN(y) && !math.IsInf(y, 0) {
				xy = append(xy, plotter.XY{X: float64(m.Epoch), Y: y})
			}
		}
		return xy
	}
	top := plot.New()
	top.Title.Text = fmt.Sprintf("run %s: %s loss, %s features", run, res.Config.Loss, res.Config.Features)
	top.X.Label.Text = "epoch"
	top.Y.Label.Text = "loss"
	bottom := plot.New()
	bottom.X.Label.Text = "epoch"
	bottom.Y.Label.Text = "validation"
	for i, s := range []struct {
		p    *plot.Plot
		name string
		f    func(m trainer.EpochMetrics) float64
	}{
		{top, "loss", func(m trainer.EpochMetrics) float64 { return m.Loss }},
		{top, "val_loss", func(m trainer.EpochMetrics) float64 { return m.ValLoss }},
		{bottom, "precision@k", func(m trainer.EpochMetrics) float64 { return m.ValPrecision }},
		{bottom, "recall@k", func(m trainer.EpochMetrics) float64 { return m.ValRecall }},
		{bottom, "spread/10", func(m trainer.EpochMetrics) float64 { return m.Spread / 10 }},
	} {
		xy := series(s.f)
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = plotColors[i%len(plotColors)]
		s.p.Add(l)
		s.p.Legend.Add(s.name, l)
	}
	top.Legend.Top = true
	bottom.Legend.Top = true
	img := vgimg.New(8*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 3 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	cs := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(cs[0][0])
	bottom.Draw(cs[1][0])
	f, err := outfile.Create(path, 0o666) // as the run log
	if err != nil {
		return err
	}
	defer f.Discard()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return err
	}
	return f.Commit()
}

// runSummary is one row of `soundalike runs`; --json prints a list of them.
type runSummary struct {
	Version            string             `json:"version"`
	Created            time.Time          `json:"created"`
	Current            bool               `json:"current"`
	Config             *trainer.RunConfig `json:"config,omitempty"`
	Metrics            *trainer.Final     `json:"metrics,omitempty"`
	EpochsRun          int                `json:"epochs_run"`
	BestEpoch          int                `json:"best_epoch"`
	Seconds            float64            `json:"seconds"`
	Warnings           []string           `json:"warnings,omitempty"`
	ImprovementOverRaw float64            `json:"improvement_over_raw_features,omitempty"`
}

// summarise decodes a stored version's run record; parts that do not
// decode stay empty.
func summarise(m soundalike.ModelVersion) runSummary {
	r := runSummary{Version: m.Version, Created: m.Created, Current: m.Current}
	var cfg trainer.RunConfig
	if len(m.Config) > 0 && json.Unmarshal(m.Config, &cfg) == nil {
		r.Config = &cfg
	}
	var fin trainer.Final
	if len(m.Metrics) > 0 && json.Unmarshal(m.Metrics, &fin) == nil && fin.K > 0 {
		r.Metrics = &fin
		r.ImprovementOverRaw = ratio(fin.Model.Precision, fin.RawFeatures.Precision)
	}
	var h trainer.RunHistory
	if len(m.History) > 0 && json.Unmarshal(m.History, &h) == nil {
		r.EpochsRun, r.BestEpoch, r.Seconds, r.Warnings = len(h.Epochs), h.BestEpoch, h.Seconds, h.Warnings
	}
	return r
}

func runRuns(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath string
		asJSON bool
	)
	fs := newFlagSet("runs", stdio, &dbPath)
	fs.BoolVar(&asJSON, "json", false, "print the runs as a JSON array")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: soundalike runs [--db PATH] [--json]\n\nLists the stored model versions (one per training run), oldest first,\nwith their config and validation figures beside the raw_features baseline.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("runs takes no arguments, got %q", fs.Args())
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	models, err := eng.Models(ctx)
	if err != nil {
		return err
	}
	if err := closeBeforePrinting(eng, dbPath); err != nil {
		return err
	}
	rows := make([]runSummary, 0, len(models))
	for _, m := range models {
		rows = append(rows, summarise(m))
	}
	if asJSON {
		return printIndentedJSON(stdio.out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdio.out, "no runs yet: soundalike train")
		return nil
	}
	tw := tabwriter.NewWriter(stdio.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCREATED\tLOSS\tT\tFEATURES\tLAYERS\tPAIRS/USER\tSEED\tEPOCHS\tBEST\tP@K\tRAW P@K\t×RAW\tGENRE P@K\tSPREAD\tTIME\tNOTE")
	for _, r := range rows {
		v := r.Version
		if r.Current {
			v += "*"
		}
		loss, temp, feats, layers, pairs, seed := "-", "-", "-", "-", "-", "-"
		if c := r.Config; c != nil {
			loss, feats, layers = c.Loss, c.Features, fmt.Sprint(c.HiddenLayers)
			pairs, seed = fmt.Sprint(c.MaxPairsPerUser), fmt.Sprint(c.Seed)
			if c.Loss == "contrastive" {
				temp = fmt.Sprint(c.Temperature)
			}
		}
		p, raw, x, g, sp := "-", "-", "-", "-", "-"
		if f := r.Metrics; f != nil {
			p, raw, g = fmt.Sprintf("%.4f", f.Model.Precision), fmt.Sprintf("%.4f", f.RawFeatures.Precision), fmt.Sprintf("%.3f", f.Model.GenrePrecision)
			x, sp = strings.TrimSuffix(times(f.Model.Precision, f.RawFeatures.Precision), "×"), fmt.Sprintf("%.3f", f.MeanPairwiseCosine)
		}
		note := ""
		if r.Metrics != nil && r.Metrics.MeanPairwiseCosine > trainer.CollapseThreshold {
			note = "COLLAPSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v, r.Created.Format("2006-01-02 15:04"), loss, temp, feats, layers, pairs, seed,
			r.EpochsRun, r.BestEpoch, p, raw, x, g, sp, (time.Duration(r.Seconds) * time.Second).String(), note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdio.out, "* current model; P@K on the run's validation users")
	return nil
}

var plotColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

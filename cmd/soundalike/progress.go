package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal (progress bars only go there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is a progress bar on a terminal and silent elsewhere, so that
// logs and CI output stay clean.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress starts a bar on w. total < 0 means unknown (a spinner with
// a rate); unit names what is counted ("rows", "tracks").
func newProgress(w io.Writer, total int64, desc, unit string) *progress {
	if !isTerminal(w) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)}
}

// Set moves the bar to n.
func (p *progress) Set(n int64) {
	if p.bar != nil {
		p.bar.Set64(n)
	}
}

// Describe changes the bar's label.
func (p *progress) Describe(desc string) {
	if p.bar != nil {
		p.bar.Describe(desc)
	}
}

// Done clears the bar.
func (p *progress) Done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

package server

import (
	"testing"

	"github.com/audotics/soundalike"
)

// TestSpansAreTheLibrarys: the spans a 400 names for a search's value that
// is no number (or beyond any) are the ranges the library checks, which
// name them for a number outside: each end passes soundalike.CheckSearch,
// and the values just beyond fail it, naming the option the span is for.
func TestSpansAreTheLibrarys(t *testing.T) {
	ptr := func(v int) *int { return &v }
	for _, c := range []struct {
		option string
		r      span
		set    func(o *soundalike.SearchOptions, v float64) (k int)
	}{
		{"k", kSpan, func(o *soundalike.SearchOptions, v float64) int { return int(v) }},
		{"SearchOptions.Offset", offsetSpan, func(o *soundalike.SearchOptions, v float64) int { o.Offset = int(v); return 1 }},
		{"SearchOptions.MaxPerArtist", maxPerArtistSpan, func(o *soundalike.SearchOptions, v float64) int { o.MaxPerArtist = int(v); return 1 }},
		{"SearchOptions.ScoreThreshold", scoreSpan, func(o *soundalike.SearchOptions, v float64) int { o.ScoreThreshold = &v; return 1 }},
		{"SearchOptions.Diversity", diversitySpan, func(o *soundalike.SearchOptions, v float64) int { o.Diversity = v; return 1 }},
		{"SearchOptions.Filter.YearMin", yearSpan, func(o *soundalike.SearchOptions, v float64) int {
			o.Filter = &soundalike.Filter{YearMin: ptr(int(v))}
			return 1
		}},
		{"SearchOptions.Filter.PopularityMax", popularitySpan, func(o *soundalike.SearchOptions, v float64) int {
			o.Filter = &soundalike.Filter{PopularityMax: ptr(int(v))}
			return 1
		}},
	} {
		check := func(v float64) error {
			var o soundalike.SearchOptions
			k := c.set(&o, v)
			return soundalike.CheckSearch(k, &o)
		}
		step := 1.0
		if c.r.hi-c.r.lo <= 2 {
			step = 0.01
		}
		for _, v := range []float64{c.r.lo, c.r.hi} {
			if err := check(v); err != nil {
				t.Errorf("%s = %v, in the server's span %v: CheckSearch = %v, want nil", c.option, v, c.r, err)
			}
		}
		for _, v := range []float64{c.r.lo - step, c.r.hi + step} {
			oe, ok := joined(check(v))[0].(*soundalike.OptionError)
			if !ok || oe.Option != c.option {
				t.Errorf("%s = %v, outside the server's span %v: CheckSearch = %v, want an OptionError naming it", c.option, v, c.r, check(v))
			}
		}
	}
}

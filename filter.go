package soundalike

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/audotics/soundalike/index"
)

// Filters (SearchOptions.Filter) take one of three paths (chooseSource
// chooses). Before searching, the filter's matches are estimated from the
// facets' counts (per genre, year and popularity, assuming the conditions
// independent). When an exact scan of the matching tracks is estimated
// cheaper than the graph search, they are scored one by one (scan; k
// results come back whenever k tracks match). Otherwise, from
// keptOnlyAbove estimated selectivity, a graph search moves only through
// the tracks the condition keeps (keptGraph), testing the condition alone
// when the query excludes few tracks and checking the rest of keep on its
// results; but when the scan is affordable and few of the query's
// neighbours pass (one unfiltered search tells: on real data the share
// near the query can be far below the global estimate, as year and
// popularity are model inputs), the kept tracks near the query do not
// stay connected, and the scan answers. Below keptOnlyAbove the kept
// tracks are too sparse to stay connected: the scan when the share the
// query's neighbours pass makes it the cheaper, else the ordinary graph
// search, which calls filter.keep for every candidate it considers (keep
// reads the node's facets, one 16-byte entry, besides its keys), and
// dropped tracks still guide it.

// facets are the per-node columns and posting lists that filters read,
// built once per catalogue: a snapshot with the same tracks reuses them.
type facets struct {
	attrs []nodeAttrs // by node
	// pops is the popularity by node (clamped: clampPopularity), and years
	// attrs' release year again, as years since yearLo-1 (0 = unknown; nil
	// when the years span more than 255): a byte a node, small enough to
	// stay in cache when a graph search checks nodes all over the
	// catalogue, and the columns an index.Range tests (byteRange).
	pops  []uint8
	years []uint8
	// genreIDs maps a normalised genre to its id, the most frequent
	// genres first: ids below 64 are bits of nodeAttrs.genres, the rest
	// (rare) are listed by node in rareGenre[rareOff[n]:rareOff[n+1]].
	genreIDs  map[string]uint32
	genreList []string // by id: each genre as a track first spelt it, for errors
	rareOff   []uint32
	rareGenre []uint32
	byGenre   [][]uint32 // the nodes of each genre, ascending
	// byYear holds the nodes of known year by year, then node:
	// byYear[yearOff[y-yearLo]:yearOff[y-yearLo+1]] are of year y.
	byYear  []uint32
	yearOff []uint32
	yearLo  int
	// byPopularity holds every track's node by popularity, then node:
	// byPopularity[popOff[p]:popOff[p+1]] have popularity p.
	byPopularity []uint32
	popOff       [maxPopularity + 2]uint32
	live         int // tracks in the catalogue
	// byArtist maps an artist key to its tracks' nodes, ascending; built
	// on the first filter by artists (artistNodes).
	byArtist     map[uint64][]uint32
	byArtistOnce sync.Once
}

// nodeAttrs are what a filter reads of a node besides the byte columns
// (facets.pops, facets.years).
type nodeAttrs struct {
	genres uint64 // bit i: the track has genre id i
	year   uint16 // release year; 0 = unknown
	rare   bool   // the track has a genre of id ≥ 64
}

const (
	inlineGenres  = 64
	maxPopularity = 100
	maxYear       = 9999
)

// buildFacets reads the facets of the snapshot's tracks, which byPop
// orders by popularity.
func buildFacets(s *snapshot, byPop *popularityOrder) *facets {
	fa := &facets{attrs: make([]nodeAttrs, s.cat.len())}
	genres := fa.readAttrs(s)
	fa.rankGenres(genres)
	fa.sortByYear(s)
	fa.pops, fa.byPopularity, fa.popOff = byPop.pops, byPop.nodes, byPop.off
	return fa
}

// genresRead are the tracks' normalised genres as readAttrs found them,
// numbered in order of appearance: node n's are num[off[n]:off[n+1]], each
// once, in the order the track lists them.
type genresRead struct {
	names []string // by number
	spelt []string // by number: the genre as the first track to list it spells it
	count []int    // by number: how many times tracks list it
	off   []uint32
	num   []uint32
}

// readAttrs decodes each track once: it fills the node's year, counts the
// tracks, and returns their genres.
func (fa *facets) readAttrs(s *snapshot) *genresRead {
	var t Track // decoded into, node by node
	n := s.cat.len()
	g := &genresRead{off: make([]uint32, n+1)}
	byStored := make(map[string]int)    // a genre as stored → its number; -1: normalised away
	byNormal := make(map[string]uint32) // a normalised genre → its number
	for node := range n {
		g.off[node+1] = g.off[node]
		if !s.cat.holdsTrack(uint32(node)) {
			continue
		}
		fa.live++
		s.cat.decode(uint32(node), &t)
		for _, stored := range t.Genres {
			num, ok := byStored[stored]
			if !ok {
				num = g.number(normalizeText(stored), stored, byNormal)
				byStored[stored] = num
			}
			if num < 0 {
				continue
			}
			g.count[num]++
			if !slices.Contains(g.num[g.off[node]:], uint32(num)) { // else listed twice
				g.num = append(g.num, uint32(num))
				g.off[node+1]++
			}
		}
		a := &fa.attrs[node]
		if y := t.ReleaseYear(); y > 0 {
			a.year = uint16(y)
		}
	}
	return g
}

// number returns the number of normalised genre name, numbering it if it
// is new (stored is its spelling then); -1 for "".
func (g *genresRead) number(name, stored string, byNormal map[string]uint32) int {
	if name == "" {
		return -1
	}
	num, ok := byNormal[name]
	if !ok {
		num = uint32(len(g.names))
		byNormal[name] = num
		// A copy: stored points into the catalogue's chunks, which facets
		// reused by a reload of the same tracks must not keep.
		g.names, g.count = append(g.names, name), append(g.count, 0)
		g.spelt = append(g.spelt, strings.Clone(stored))
	}
	return int(num)
}

// rankGenres numbers the genres read by frequency, most frequent first, in
// fa.genreIDs, and lists each node's: as bits of its attributes or among
// the rare genres, and in byGenre.
func (fa *facets) rankGenres(g *genresRead) {
	order := make([]uint32, len(g.names)) // genre numbers, most frequent first
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		return cmp.Or(cmp.Compare(g.count[b], g.count[a]), cmp.Compare(g.names[a], g.names[b]))
	})
	idOf := make([]uint32, len(g.names)) // by genre number
	fa.genreIDs = make(map[string]uint32, len(g.names))
	fa.genreList = make([]string, len(g.names))
	fa.byGenre = make([][]uint32, len(g.names))
	for id, num := range order {
		idOf[num] = uint32(id)
		fa.genreIDs[g.names[num]] = uint32(id)
		fa.genreList[id] = g.spelt[num]
		fa.byGenre[id] = make([]uint32, 0, g.count[num])
	}
	n := len(fa.attrs)
	fa.rareOff = make([]uint32, n+1)
	for node := range n {
		fa.rareOff[node+1] = fa.rareOff[node]
		a := &fa.attrs[node]
		for _, num := range g.num[g.off[node]:g.off[node+1]] {
			id := idOf[num]
			if id < inlineGenres {
				a.genres |= 1 << id
			} else {
				a.rare = true
				fa.rareGenre = append(fa.rareGenre, id)
				fa.rareOff[node+1]++
			}
			fa.byGenre[id] = append(fa.byGenre[id], uint32(node))
		}
	}
}

// sortByYear lists the tracks by year (a counting sort, nodes ascending
// within each) and copies the years into the byte-a-node column years.
func (fa *facets) sortByYear(s *snapshot) {
	yearLo, yearHi := maxYear+1, 0
	for _, a := range fa.attrs {
		if a.year > 0 {
			yearLo, yearHi = min(yearLo, int(a.year)), max(yearHi, int(a.year))
		}
	}
	if yearHi >= yearLo {
		fa.yearLo = yearLo
		fa.yearOff = make([]uint32, yearHi-yearLo+2)
	}
	for node := range fa.attrs {
		if !s.cat.holdsTrack(uint32(node)) {
			continue
		}
		if y := fa.attrs[node].year; y > 0 {
			fa.yearOff[int(y)-fa.yearLo+1]++
		}
	}
	for i := 1; i < len(fa.yearOff); i++ {
		fa.yearOff[i] += fa.yearOff[i-1]
	}
	if len(fa.yearOff) > 0 {
		fa.byYear = make([]uint32, fa.yearOff[len(fa.yearOff)-1])
	}
	if yearHi-yearLo < 255 {
		fa.years = make([]uint8, len(fa.attrs))
	}
	nextYear := slices.Clone(fa.yearOff)
	for node, a := range fa.attrs {
		if !s.cat.holdsTrack(uint32(node)) || a.year == 0 {
			continue
		}
		if fa.years != nil {
			fa.years[node] = uint8(int(a.year) - fa.yearLo + 1)
		}
		i := int(a.year) - fa.yearLo
		fa.byYear[nextYear[i]] = uint32(node)
		nextYear[i]++
	}
}

// artistNodes returns fa.byArtist, built from s's artist keys on the first
// call; s is the snapshot that asks. Facets hold no snapshot: a reload of
// the same tracks reuses its predecessor's facets, and a reference to the
// predecessor would keep all of it (index, catalogue, hugetlb pages) alive
// while they are served.
func (fa *facets) artistNodes(s *snapshot) map[uint64][]uint32 {
	fa.byArtistOnce.Do(func() {
		m := make(map[uint64][]uint32)
		for node := range s.cat.len() {
			if !s.cat.holdsTrack(uint32(node)) {
				continue
			}
			for _, k := range s.artistKey[s.artistOff[node]:s.artistOff[node+1]] {
				if l := m[k]; len(l) == 0 || l[len(l)-1] != uint32(node) {
					m[k] = append(l, uint32(node))
				}
			}
		}
		fa.byArtist = m
	})
	return fa.byArtist
}

// condition is a compiled Filter: what filter.meetsCondition checks of
// each node.
type condition struct {
	fa *facets
	// genres: a node matches when it has a genre of genreMask or one of
	// rare. Every genre asked for is one of the catalogue's
	// (compileFilter refuses others).
	genres    bool
	genreMask uint64
	rare      []uint32
	genreIDs  []uint32 // every known genre asked for
	// years and popularity: inclusive bounds.
	years            bool
	yearMin, yearMax int
	yMin, yMax       int // the bounds as match compares them (facets.years)
	pops             bool
	popMin, popMax   int
	artists          map[uint64]bool // keep tracks by any of these; nil = any
	ids              []uint32        // the allow-list's nodes, sorted; used when hasIDs
	hasIDs           bool
}

// compileFilter compiles flt against the snapshot's facets, waiting for
// them if they are still being built. The query's entry point has checked
// flt (CheckSearch) before, so a malformed filter never waits. What only
// the catalogue can judge is refused here: a genre no track has (see
// unknownGenre), each an *OptionError, joined, the last listing the
// catalogue's genres.
func (s *snapshot) compileFilter(flt *Filter) (*condition, error) {
	c := &condition{fa: s.facets()}
	if len(flt.Genres) > 0 {
		c.genres = true
		var unknown []int // entries of flt.Genres no track has
		for i, g := range flt.Genres {
			id, ok := c.fa.genreIDs[normalizeText(g)]
			switch {
			case !ok:
				unknown = append(unknown, i)
			case slices.Contains(c.genreIDs, id):
			case id < inlineGenres:
				c.genreMask |= 1 << id
				c.genreIDs = append(c.genreIDs, id)
			default:
				c.rare = append(c.rare, id)
				c.genreIDs = append(c.genreIDs, id)
			}
		}
		if len(unknown) > 0 {
			bad := make([]error, len(unknown))
			for j, i := range unknown {
				bad[j] = c.fa.unknownGenre(i, flt.Genres[i], j == len(unknown)-1)
			}
			return nil, errors.Join(bad...)
		}
	}
	if flt.YearMin != nil || flt.YearMax != nil {
		c.years, c.yearMin, c.yearMax = true, 1, maxYear
		if flt.YearMin != nil {
			c.yearMin = *flt.YearMin
		}
		if flt.YearMax != nil {
			c.yearMax = *flt.YearMax
		}
		c.yMin, c.yMax = c.yearMin, c.yearMax
		if c.fa.years != nil { // shifted, and clamped into 1..255 (0 is unknown)
			c.yMin = min(max(c.yearMin-c.fa.yearLo+1, 1), 256)
			c.yMax = min(max(c.yearMax-c.fa.yearLo+1, 0), 255)
		}
	}
	if flt.PopularityMin != nil || flt.PopularityMax != nil {
		c.pops, c.popMin, c.popMax = true, 0, maxPopularity
		if flt.PopularityMin != nil {
			c.popMin = *flt.PopularityMin
		}
		if flt.PopularityMax != nil {
			c.popMax = *flt.PopularityMax
		}
	}
	if len(flt.Artists) > 0 {
		c.artists = make(map[uint64]bool, len(flt.Artists))
		for _, a := range flt.Artists {
			if k := artistKeyOf(a); k != 0 {
				c.artists[k] = true
			}
		}
	}
	if len(flt.IDs) > 0 {
		c.hasIDs = true
		for _, id := range flt.IDs {
			if n, ok := s.lookup(id); ok {
				c.ids = append(c.ids, n)
			}
		}
		slices.Sort(c.ids)
		c.ids = slices.Compact(c.ids)
	}
	return c, nil
}

// maxGenresListed is how many of the catalogue's genres the refusal of an
// unknown one lists, the most frequent first.
const maxGenresListed = 20

// unknownGenre is the *OptionError of genre, entry i of
// SearchOptions.Filter.Genres, which no track of the catalogue has: it
// would keep no track, and a query that names it (a typo, a subgenre, a
// genre of another catalogue) would get no results and no reason. With
// list, it says which genres the catalogue has: few, as genres go (a
// catalogue of thousands lists its maxGenresListed most frequent); of
// several unknown genres, the last error lists them, once. Whether a genre is
// one is the catalogue's to say, so CheckSearch, which runs without it,
// cannot refuse it; Filter.IDs is not checked so, as a client may keep
// tracks deleted since by the ids the API returned.
func (fa *facets) unknownGenre(i int, genre string, list bool) *OptionError {
	return optionError("SearchOptions.Filter.Genres", i, "", func(option, _ string) string {
		head := fmt.Sprintf("no track has genre %q", clip(genre))
		n := len(fa.genreList)
		switch {
		case !list:
			return head
		case n == 0:
			return head + ": the catalogue's tracks have no genres: leave " + option + " out"
		}
		var b strings.Builder
		b.WriteString(head + ": want one of ")
		for j, g := range fa.genreList[:min(n, maxGenresListed)] {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", clip(g))
		}
		if n > maxGenresListed {
			fmt.Fprintf(&b, " (the %d most frequent of the catalogue's %d; matched case-insensitively)", maxGenresListed, n)
		} else {
			b.WriteString(" (matched case-insensitively)")
		}
		return b.String()
	})
}

// match reports whether node n, below the catalogue's length, passes
// every condition. It reads the facets only: a node without a track may
// pass (its year and popularity read as 0), which filter.excludes rules
// out.
func (c *condition) match(s *snapshot, n uint32) bool {
	fa := c.fa
	if c.pops && (int(fa.pops[n]) < c.popMin || int(fa.pops[n]) > c.popMax) {
		return false
	}
	if c.years {
		var y int
		if fa.years != nil {
			y = int(fa.years[n]) // years since yearLo-1: the bounds are shifted alike
		} else {
			y = int(fa.attrs[n].year) // a wider read, only when the years need it
		}
		if y < c.yMin || y > c.yMax {
			return false // an unknown year (0) is below every bound
		}
	}
	if c.genres {
		a := &fa.attrs[n]
		if a.genres&c.genreMask == 0 && !(a.rare && c.matchRare(n)) {
			return false
		}
	}
	if c.artists != nil {
		found := false
		for _, k := range s.artistKey[s.artistOff[n]:s.artistOff[n+1]] {
			found = found || c.artists[k]
		}
		if !found {
			return false
		}
	}
	if c.hasIDs {
		if _, found := slices.BinarySearch(c.ids, n); !found {
			return false
		}
	}
	return true
}

// byteRange is the test on a byte column by node that the condition
// implies and that drops the most nodes: the years' or the popularity's
// bounds, or nil when it has neither.
func (c *condition) byteRange() *index.Range {
	if c == nil {
		return nil
	}
	fa := c.fa
	var r *index.Range
	share := 1.0
	if c.years && fa.years != nil && len(fa.yearOff) > 0 {
		lo, hi := min(max(c.yMin, 0), 256), min(max(c.yMax, 0), 255)
		if lo > hi {
			return nil // keeps no node: the filter finds that as fast
		}
		r = &index.Range{Col: fa.years, Lo: uint8(lo), Hi: uint8(hi)}
		share = float64(len(fa.yearRange(c.yearMin, c.yearMax))) / float64(max(fa.live, 1))
	}
	if c.pops {
		lo, hi := min(max(c.popMin, 0), maxPopularity+1), min(max(c.popMax, 0), maxPopularity)
		if lo > hi {
			return nil
		}
		n := fa.popOff[hi+1] - fa.popOff[lo]
		if sh := float64(n) / float64(max(fa.live, 1)); r == nil || sh < share {
			r = &index.Range{Col: fa.pops, Lo: uint8(lo), Hi: uint8(hi)}
		}
	}
	return r
}

func (c *condition) matchRare(n uint32) bool {
	for _, id := range c.fa.rareGenre[c.fa.rareOff[n]:c.fa.rareOff[n+1]] {
		if slices.Contains(c.rare, id) {
			return true
		}
	}
	return false
}

// scanPlan is how a filtered search will find its candidates: the posting
// lists whose nodes include every match (the most selective condition's),
// and the estimated number of matches.
type scanPlan struct {
	lists    [][]uint32 // the driving condition's nodes; may overlap
	listed   int        // nodes in lists
	matches  float64    // estimated matches of the whole filter
	complete bool       // some condition has a posting list
	exact    bool       // the condition is the driving one alone: every listed node matches
}

// plan estimates the filter's matches and picks the condition with the
// fewest nodes to drive an exact scan of s, the snapshot c was compiled
// against.
func (c *condition) plan(s *snapshot) scanPlan {
	fa := c.fa
	p := scanPlan{matches: float64(fa.live), listed: math.MaxInt}
	clauses := 0
	consider := func(lists [][]uint32) {
		clauses++
		n := 0
		for _, l := range lists {
			n += len(l)
		}
		if fa.live > 0 {
			p.matches *= min(1, float64(n)/float64(fa.live))
		}
		if n < p.listed {
			p.lists, p.listed, p.complete = lists, n, true
		}
	}
	if c.hasIDs {
		consider([][]uint32{c.ids})
	}
	if c.genres {
		var lists [][]uint32
		for _, id := range c.genreIDs {
			lists = append(lists, fa.byGenre[id])
		}
		consider(lists)
	}
	if c.years {
		consider([][]uint32{fa.yearRange(c.yearMin, c.yearMax)})
	}
	if c.pops {
		consider([][]uint32{fa.byPopularity[fa.popOff[c.popMin]:fa.popOff[c.popMax+1]]})
	}
	if c.artists != nil {
		byArtist := fa.artistNodes(s)
		var lists [][]uint32
		for k := range c.artists {
			if l := byArtist[k]; len(l) > 0 {
				lists = append(lists, l)
			}
		}
		consider(lists)
	}
	p.exact = clauses == 1
	return p
}

// share is the estimated share of the catalogue that p's filter keeps.
func (c *condition) share(p scanPlan) float64 {
	return p.matches / float64(max(c.fa.live, 1))
}

// yearRange returns the nodes of a year in lo..hi.
func (fa *facets) yearRange(lo, hi int) []uint32 {
	if len(fa.yearOff) == 0 {
		return nil
	}
	last := fa.yearLo + len(fa.yearOff) - 2
	lo, hi = max(lo, fa.yearLo), min(hi, last)
	if lo > hi {
		return nil
	}
	return fa.byYear[fa.yearOff[lo-fa.yearLo]:fa.yearOff[hi-fa.yearLo+1]]
}

// The cost model that chooses between the graph search and an exact scan,
// in nanoseconds of one core, measured at 1M tracks
// (BenchmarkSimilarFiltered1M): checking a listed node against the filter,
// scoring a match, and expanding one node of the graph search (scoring its
// unvisited neighbours).
const (
	costCheck  = 4
	costScore  = 40
	costExpand = 400
)

// scanCost is the estimated cost of scanning p's lists.
func (p scanPlan) scanCost() float64 {
	return float64(p.listed)*costCheck + p.matches*costScore
}

// graphCost is the estimated cost of a graph search with a beam of ef
// when a share sel of the nodes it meets pass the filter: it expands
// about ef/sel nodes before ef of them pass.
func graphCost(ef int, sel float64) float64 {
	if sel <= 0 {
		return math.Inf(1)
	}
	return float64(ef) / sel * costExpand
}

// chooseSource chooses where the candidates of a search around at with a
// beam of ef under condition c come from, p being c's plan. An exact scan
// of p's lists when the global estimate of the selectivity makes it the
// cheaper. From keptOnlyAbove estimated selectivity, the graph through
// kept tracks only (fromKept), unless the scan costs at most
// scanAffordable and, in one unfiltered search (probe), fewer than
// keptNear of the share the filter keeps overall pass among the query's
// neighbours: year and popularity are model inputs, and on real data,
// which clusters, a filter on them can keep many tracks and yet few near
// the query. The kept tracks near such a query do not stay connected
// through each other: the search through them converges on the first it
// reaches and misses others as near (on the dev catalogue with a trained
// model, year_min=2015&popularity_min=50, 24% of the tracks, had a
// recall@10 of 0.964: TestFilteredRecallDev), and an affordable scan is
// exact. A kept search the probe ran for starts from the kept nodes it
// found (near). Below keptOnlyAbove, the probe's share stands for the
// selectivity the graph search will meet, and the cost model decides
// between the scan and the graph search that dropped tracks guide.
func (s *snapshot) chooseSource(at around, ef int, p scanPlan, c *condition) (source, []uint32) {
	sel := c.share(p)
	if p.complete && p.scanCost() < graphCost(ef, sel) {
		return fromScan, nil
	}
	affordable := p.complete && p.scanCost() <= scanAffordable
	if sel >= keptOnlyAbove && !affordable {
		return fromKept, nil
	}
	near, local, ok := s.probe(at, ef, c)
	if !ok {
		local = sel // no neighbours to judge by: the global estimate
	}
	switch {
	case sel >= keptOnlyAbove && local >= keptNear*sel:
		return fromKept, near
	case sel >= keptOnlyAbove: // and affordable
		return fromScan, nil
	case p.complete && p.scanCost() < graphCost(ef, local):
		return fromScan, nil
	}
	return fromIndex, nil
}

// keptNear is the share of the global selectivity that a filter must
// keep of the query's neighbours for the search to move through kept
// tracks only when an exact scan is affordable (chooseSource).
const keptNear = 0.25

// scanAffordable is the cost (costCheck, costScore) of an exact scan that
// chooseSource takes over a search through kept tracks for a query whose
// neighbours the filter mostly drops: about a millisecond of one core,
// the target of a filtered query's 99th percentile (docs/benchmarks.md).
// A catalogue of tens of thousands of tracks scans any filter's matches
// within it; at 1M a filter keeping 10% costs several times as much, and
// the search stays on the kept tracks (recall@20 0.998 on the synthetic
// 1M catalogue, whose tracks do not cluster; a real catalogue of that
// size has not been measured).
const scanAffordable = 1_000_000

// probe searches the graph around at with a beam of ef, unfiltered (from
// at's node when it is one, as an unfiltered search does), and returns
// the nodes among the results that meet c, and the share of the results
// they are (as if half a node more met it: never a zero rate); ok is
// false when the search found nothing.
func (s *snapshot) probe(at around, ef int, c *condition) (near []uint32, share float64, ok bool) {
	res, err := s.graph.SearchFrom(nil, at.q, at.node, ef, nil, ef)
	if err != nil || len(res) == 0 {
		return nil, 0, false
	}
	for _, r := range res {
		if int(r.ID) < s.cat.len() && s.cat.holdsTrack(r.ID) && c.match(s, r.ID) {
			near = append(near, r.ID)
		}
	}
	return near, (float64(len(near)) + 0.5) / float64(len(res)), true
}

// forceScan, when set (by tests only), overrides the cost model: true
// scans whenever a condition has a posting list, false always searches
// the graph.
var forceScan *bool

// scan scores every node of p's lists that meets f's condition: the
// candidates of an exact search. The query's exclusions (f.excludes) are
// checked on the best only, as they are asked for: they read each node's
// keys, a cache miss a node, and a search wants a few dozen of thousands
// scanned.
func (s *snapshot) scan(q []float32, p scanPlan, f *filter) (candidates, error) {
	var nodes []uint32
	if p.exact && len(p.lists) == 1 {
		nodes = p.lists[0] // every node of it matches
	} else {
		nodes = make([]uint32, 0, min(p.listed, int(1.25*p.matches)+64))
		for _, l := range p.lists {
			for _, n := range l {
				if f.meetsCondition(n) {
					nodes = append(nodes, n)
				}
			}
		}
		if len(p.lists) > 1 {
			slices.Sort(nodes)
			nodes = slices.Compact(nodes)
		}
	}
	rs, err := s.graph.ScoreIDs(make([]index.Result, 0, len(nodes)), q, nodes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidQuery, err)
	}
	sorted := false
	best := func(m int) []index.Result { // the m best of rs, best first
		if !sorted && 4*m < len(rs) {
			return topResults(rs, m)
		}
		if !sorted {
			index.SortResults(rs)
			sorted = true
		}
		return rs[:m]
	}
	return func(n int) ([]index.Result, bool, error) {
		if n <= 0 {
			return nil, len(rs) == 0, nil
		}
		for want := n + n/4 + 8; ; want *= 2 {
			want = min(want, len(rs))
			out := make([]index.Result, 0, n)
			top := best(want)
			i := 0
			for ; i < len(top) && len(out) < n; i++ {
				if !f.excludes(top[i].ID) {
					out = append(out, top[i])
				}
			}
			if all := want == len(rs) && i == len(top); all || len(out) == n {
				return out, all, nil
			}
		}
	}, nil
}

// topResults returns the n best of rs (n < len(rs)) in a new slice, best
// first, selecting with a heap of the n best so far (worst on top).
func topResults(rs []index.Result, n int) []index.Result {
	h := make([]index.Result, 0, n)
	worse := func(a, b index.Result) bool { return a.Score < b.Score || a.Score == b.Score && a.ID > b.ID }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			if r := l + 1; r < len(h) && worse(h[r], h[l]) {
				l = r
			}
			if !worse(h[l], h[i]) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for _, r := range rs {
		switch {
		case len(h) < n:
			h = append(h, r)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
		case worse(h[0], r):
			h[0] = r
			down(0)
		}
	}
	index.SortResults(h)
	return h
}

// keptOnlyAbove is the estimated selectivity from which a filtered graph
// search may move only through kept tracks (keptGraph; keptNear says when
// it does): below it the kept tracks are too sparse in the graph to stay
// connected, and the search lets dropped tracks guide it
// (index.HNSW.SearchInto with the filter).
const keptOnlyAbove = 0.05

// Entries of a filtered graph search: the best entryCount of entrySample
// tracks the filter keeps, spread over the plan's lists, so that the
// search starts among kept tracks near the query wherever the query is.
const (
	entrySample = 128
	entryCount  = 8
)

// expandBudget is how many nodes a filtered graph search may expand, per
// node of its beam, before it gives way to an exact scan.
const expandBudget = 20

// keptGraph is the candidates of a graph search that moves only
// through tracks f keeps (index.HNSW.SearchKept), from the usual entry
// point, the best of a sample of kept tracks and near, the kept tracks
// among the query's unfiltered neighbours. A search that spends its
// budget is answered by an exact scan of p's lists instead.
func (s *snapshot) keptGraph(q []float32, ef int, p scanPlan, f *filter, near []uint32) candidates {
	entries := append(s.filterEntries(q, p, f), near...)
	kept := &index.Kept{Filter: f.keep, Range: f.cond.byteRange(), Entries: entries}
	// When the search excludes few tracks, the walk tests the condition
	// alone (f.meetsCondition) and the results are checked for the rest
	// (f.excludes: the exclusions, and that the track was not deleted
	// since the index was built), with room for the few exclusions it
	// drops: f.excludes reads a node's keys, a cache miss for every kept
	// node the walk meets. A deleted track the results lose makes them
	// short of n, for which refine asks again.
	room, after := 0, false
	if few := f.dropCount(); f.artists == nil && few <= fewExclusions {
		kept.Filter, room, after = f.meetsCondition, few, true
	}
	var scanned candidates
	return func(n int) ([]index.Result, bool, error) {
		if scanned != nil {
			return scanned(n)
		}
		n = min(n, s.indexLen())
		m := min(n+room, s.indexLen())
		kept.Budget = expandBudget * max(m, ef)
		res, err := s.graph.SearchKept(nil, q, m, ef, kept)
		// Fewer than m results means the kept tracks the search reached
		// were cut off from the rest: the scan finds them all.
		short := err == nil && len(res) < m && m < s.indexLen()
		if (short || errors.Is(err, index.ErrBudget)) && p.complete {
			if scanned, err = s.scan(q, p, f); err != nil {
				return nil, false, err
			}
			return scanned(n)
		}
		if errors.Is(err, index.ErrBudget) { // no list to scan: the unbounded search
			res, err = s.graph.SearchInto(nil, q, m, kept.Filter, ef)
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrInvalidQuery, err)
		}
		exhausted := len(res) < m || m >= s.indexLen()
		if after {
			res = slices.DeleteFunc(res, func(r index.Result) bool { return f.excludes(r.ID) })
			if len(res) > n {
				res, exhausted = res[:n], false
			}
		}
		return res, exhausted, nil
	}
}

// filterEntries returns the best-scoring of a sample of the tracks f
// keeps from p's lists.
func (s *snapshot) filterEntries(q []float32, p scanPlan, f *filter) []uint32 {
	if !p.complete || p.listed == 0 {
		return nil
	}
	step := max(1, p.listed/entrySample)
	var sample [entrySample + 1]uint32
	ns := sample[:0]
	i := 0
	for _, l := range p.lists {
		for ; i < len(l) && len(ns) < cap(ns); i += step {
			if f.keep(l[i]) {
				ns = append(ns, l[i])
			}
		}
		i = max(0, i-len(l)) // the stride goes on into the next list
	}
	rs, err := s.graph.ScoreIDs(make([]index.Result, 0, len(ns)), q, ns)
	if err != nil || len(rs) == 0 {
		return nil
	}
	if len(rs) > entryCount {
		rs = topResults(rs, entryCount)
	}
	entries := make([]uint32, len(rs))
	for j, r := range rs {
		entries[j] = r.ID
	}
	return entries
}

package soundalike

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// MaxSearchK is the most tracks SearchTracks returns for one query.
const MaxSearchK = 100

// CheckSearchText returns the error SearchTracks returns for text when
// text holds no word to search for (🎵, "!!"), nil otherwise: a program
// can refuse such a text before it opens a database (the CLI's search
// does). The error wraps ErrInvalidQuery.
func CheckSearchText(text string) error {
	if len(appendWords(nil, nil, text)) == 0 {
		return noWords(text)
	}
	return nil
}

// noWords is the error of a search text that holds no word.
func noWords(text string) error {
	return fmt.Errorf("%w: %q holds no word to search for (letters or digits)", ErrInvalidQuery, clip(text))
}

// SearchTracks finds catalogue tracks by words of their name and artists:
// "blinding lights weeknd". Words are compared lower-cased and without
// accents ("Beyoncé" matches "beyonce"); apostrophes and dots join
// ("don't" is "dont"), any other character that is not a letter or digit
// separates. A track matches when every word of text is one of its words,
// the last word also as a prefix ("blinding lig"). Tracks where every word
// matched whole come first, then those whose last word matched only as a
// prefix; within each, the more popular first, then in catalogue order.
//
// k is 1..MaxSearchK. A text without a word is an error wrapping
// ErrInvalidQuery. The tracks are copies, the caller's to keep. Track
// search needs no model or index. ctx ends a wait for the first load, and
// a search whose ctx is done once the snapshot is there, or once the
// word index is built, returns ctx's error instead of its tracks.
func (e *Engine) SearchTracks(ctx context.Context, text string, k int) ([]Track, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, fmt.Errorf("search tracks: %w", err)
	}
	if k < 1 || k > MaxSearchK {
		return nil, fmt.Errorf("%w: k = %d: want 1..%d", ErrInvalidQuery, k, MaxSearchK)
	}
	words := appendWords(nil, nil, text)
	if len(words) == 0 {
		return nil, noWords(text)
	}
	s, err := e.currentContext(ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("search tracks: %w", err) // the caller's deadline passed while it waited
	}
	x := s.words() // built on first use: seconds at a million tracks
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("search tracks: %w", err)
	}
	ranks := x.search(words, k)
	out := make([]Track, len(ranks))
	for i, r := range ranks {
		out[i] = *s.cat.track(x.byRank[r])
	}
	return out, nil
}

// wordIndex is the inverted index of track search, built with each
// snapshot. Tracks are numbered by rank (popularity descending, then node),
// so that every list in rank order is also in the order results are
// ranked, and a search can stop at the first k matches it meets.
type wordIndex struct {
	words wordList // every distinct word, sorted: a prefix is a range
	// postings: the ranks of the tracks holding words[w], ascending, are
	// post[postOff[w]:postOff[w+1]].
	postOff []uint32
	post    []uint32
	// the forward index: the word ids of rank r, ascending, are
	// fwd[fwdOff[r]:fwdOff[r+1]].
	fwdOff []uint32
	fwd    []uint32
	byRank []uint32 // the node of each rank
}

// buildWordIndex indexes the words of every track's name and artists,
// ranking the tracks by byPop, most popular first.
func buildWordIndex(c *catalog, byPop *popularityOrder) *wordIndex {
	x := &wordIndex{}
	x.byRank = byPop.descending()
	var words []string // by id, in order of appearance
	ids := make(map[string]uint32)
	x.fwdOff = make([]uint32, 1, len(x.byRank)+1)
	var buf []byte
	var spans []wordSpan
	var t Track
	for _, node := range x.byRank {
		c.decode(node, &t)
		buf, spans = foldTrack(buf[:0], spans[:0], &t)
		start := len(x.fwd)
		for _, sp := range spans {
			w := buf[sp.from:sp.to]
			id, ok := ids[string(w)]
			if !ok {
				id = uint32(len(words))
				words = append(words, string(w))
				ids[words[id]] = id
			}
			x.fwd = append(x.fwd, id)
		}
		seg := x.fwd[start:]
		slices.Sort(seg)
		x.fwd = x.fwd[:start+len(slices.Compact(seg))]
		x.fwdOff = append(x.fwdOff, uint32(len(x.fwd)))
	}
	x.sortWords(words)
	x.invert()
	return x
}

// descending returns the nodes most popular first, then by node: the
// word index's ranks.
func (o *popularityOrder) descending() []uint32 {
	out := make([]uint32, 0, len(o.nodes))
	for p := maxPopularity; p >= 0; p-- {
		out = append(out, o.nodes[o.off[p]:o.off[p+1]]...)
	}
	return out
}

// sortWords stores words (by id) sorted, and renumbers the forward index
// to match.
func (x *wordIndex) sortWords(words []string) {
	order := make([]uint32, len(words))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int { return strings.Compare(words[a], words[b]) })
	renum := make([]uint32, len(order))
	size := 0
	for _, w := range words {
		size += len(w)
	}
	x.words = wordList{text: make([]byte, 0, size), off: make([]uint32, 1, len(words)+1)}
	for i, old := range order {
		renum[old] = uint32(i)
		x.words.text = append(x.words.text, words[old]...)
		x.words.off = append(x.words.off, uint32(len(x.words.text)))
	}
	for i, w := range x.fwd {
		x.fwd[i] = renum[w]
	}
	for r := range len(x.fwdOff) - 1 {
		slices.Sort(x.fwd[x.fwdOff[r]:x.fwdOff[r+1]])
	}
}

// wordList is a sorted list of words in one byte array: word i is
// text[off[i]:off[i+1]]. It holds no pointers, so the garbage collector
// neither marks nor scans its words one by one: as a []string, a 1M-track
// catalogue's words were a million objects, most of each serving
// process's mark phase.
type wordList struct {
	text []byte
	off  []uint32
}

func (l *wordList) len() int { return max(len(l.off)-1, 0) }

// at returns word i, sharing the list's memory.
func (l *wordList) at(i int) string {
	lo, hi := l.off[i], l.off[i+1]
	if lo == hi {
		return ""
	}
	return unsafe.String(&l.text[lo], hi-lo)
}

// find returns the position of the first word ≥ w, and whether it is w.
func (l *wordList) find(w string) (int, bool) {
	i := sortSearch(l.len(), func(i int) bool { return l.at(i) >= w })
	return i, i < l.len() && l.at(i) == w
}

// invert builds the postings from the forward index.
func (x *wordIndex) invert() {
	x.postOff = make([]uint32, x.words.len()+1)
	for _, w := range x.fwd {
		x.postOff[w+1]++
	}
	for w := range x.words.len() {
		x.postOff[w+1] += x.postOff[w]
	}
	x.post = make([]uint32, len(x.fwd))
	next := slices.Clone(x.postOff[:x.words.len()])
	for r := range len(x.fwdOff) - 1 {
		for _, w := range x.fwd[x.fwdOff[r]:x.fwdOff[r+1]] {
			x.post[next[w]] = uint32(r)
			next[w]++
		}
	}
}

func (x *wordIndex) postings(w uint32) []uint32 { return x.post[x.postOff[w]:x.postOff[w+1]] }
func (x *wordIndex) wordsOf(r uint32) []uint32  { return x.fwd[x.fwdOff[r]:x.fwdOff[r+1]] }

// prefixRange returns the ids [lo, hi) of the words starting with p, and
// whether words[lo] is p itself.
func (x *wordIndex) prefixRange(p string) (lo, hi uint32, exact bool) {
	l, exact := x.words.find(p)
	n := x.words.len() - l
	h := l + sortSearch(n, func(i int) bool { return !strings.HasPrefix(x.words.at(l+i), p) })
	return uint32(l), uint32(h), exact
}

func sortSearch(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !f(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// search returns the ranks of the best k tracks for the query words (see
// Engine.SearchTracks).
func (x *wordIndex) search(words []string, k int) []uint32 {
	last := words[len(words)-1]
	lo, hi, exact := x.prefixRange(last)
	if lo == hi {
		return nil
	}
	var whole []uint32 // the word ids of all words but the last
	for _, w := range words[:len(words)-1] {
		i, found := x.words.find(w)
		if !found {
			return nil
		}
		whole = append(whole, uint32(i))
	}
	slices.Sort(whole)
	whole = slices.Compact(whole)
	if len(whole) == 0 {
		return x.searchPrefix(lo, hi, exact, k)
	}
	// Merging lists costs a few times what walking one does.
	if 4*(x.postOff[hi]-x.postOff[lo]) < x.size(x.shortest(whole)) {
		return x.searchPrefixLists(whole, lo, hi, exact, k)
	}
	// Tracks holding the last word whole, then those holding a longer word
	// it begins: each found by walking the shortest list that every one
	// of them is on, in rank order, up to the number still wanted, and
	// galloping along the others.
	var out []uint32
	if exact {
		out = x.intersect(out, append(slices.Clone(whole), lo), k, nil)
		if len(out) == k {
			return out
		}
	}
	var wholeLo *cursor
	if exact {
		wholeLo = x.cursor(lo)
	}
	return x.intersect(out, whole, k, func(r uint32) bool {
		if wholeLo != nil && wholeLo.has(r) {
			return false // found above
		}
		ws := x.wordsOf(r)
		i, _ := slices.BinarySearch(ws, lo)
		return i < len(ws) && ws[i] < hi
	})
}

func (x *wordIndex) size(w uint32) uint32 { return x.postOff[w+1] - x.postOff[w] }

// shortest returns the word of ws with the fewest tracks.
func (x *wordIndex) shortest(ws []uint32) uint32 {
	best := ws[0]
	for _, w := range ws[1:] {
		if x.size(w) < x.size(best) {
			best = w
		}
	}
	return best
}

// intersect appends to out, in rank order, the tracks on the lists of
// every word of ws that match accepts (nil accepts all), until out holds
// k.
func (x *wordIndex) intersect(out []uint32, ws []uint32, k int, match func(r uint32) bool) []uint32 {
	driver := x.shortest(ws)
	var others []*cursor
	for _, w := range ws {
		if w != driver {
			others = append(others, x.cursor(w))
		}
	}
next:
	for _, r := range x.postings(driver) {
		for _, c := range others {
			if !c.has(r) {
				continue next
			}
		}
		if match == nil || match(r) {
			out = append(out, r)
			if len(out) >= k {
				break
			}
		}
	}
	return out
}

// searchPrefixLists is search when the tracks holding a word that begins
// with the last are fewer than those on any whole word's list: it takes
// the last word's own list, then merges the lists of the longer words.
func (x *wordIndex) searchPrefixLists(whole []uint32, lo, hi uint32, exact bool, k int) []uint32 {
	var out []uint32
	if exact {
		out = x.intersect(out, append(slices.Clone(whole), lo), k, nil)
		if len(out) == k || lo+1 == hi {
			return out
		}
	}
	var holds []*cursor
	for _, w := range whole {
		holds = append(holds, x.cursor(w))
	}
	var wholeLo *cursor
	from := lo
	if exact {
		wholeLo, from = x.cursor(lo), lo+1
	}
	return x.prefixByMerge(out, from, hi, k, func(r uint32) bool {
		for _, c := range holds {
			if !c.has(r) {
				return true
			}
		}
		return wholeLo != nil && wholeLo.has(r)
	})
}

// cursor is a position in a postings list, for membership tests of
// ascending ranks.
type cursor struct {
	list []uint32
	i    int
}

func (x *wordIndex) cursor(w uint32) *cursor { return &cursor{list: x.postings(w)} }

// has reports whether the list holds r. r must not be below a rank asked
// before: the cursor gallops forward to the first rank at or after r.
func (c *cursor) has(r uint32) bool {
	l := c.list
	if c.i >= len(l) || l[c.i] >= r {
		return c.i < len(l) && l[c.i] == r
	}
	lo, step := c.i, 1 // l[lo] < r
	hi := lo + step
	for hi < len(l) && l[hi] < r {
		lo, step = hi, 2*step
		hi = lo + step
	}
	hi = min(hi, len(l))
	j, _ := slices.BinarySearch(l[lo+1:hi], r)
	c.i = lo + 1 + j
	return c.i < len(l) && l[c.i] == r
}

// searchPrefix answers a one-word query: the tracks holding the word
// whole, then those holding a longer word it begins.
func (x *wordIndex) searchPrefix(lo, hi uint32, exact bool, k int) []uint32 {
	var out []uint32
	if exact {
		p := x.postings(lo)
		out = append(out, p[:min(len(p), k)]...)
		if len(out) == k {
			return out
		}
		lo++
	}
	if lo == hi {
		return out
	}
	skip := func(r uint32) bool { // holds the word whole: already in out
		return exact && slices.Contains(x.wordsOf(r), lo-1)
	}
	// Merging the lists costs about a step per list; scanning the tracks
	// in rank order until enough match costs about the number wanted over
	// the share of tracks that match. Take the cheaper.
	want := k - len(out)
	lists := int(hi - lo)
	matching := int(x.postOff[hi] - x.postOff[lo])
	if matching > 0 && want*(len(x.fwdOff)-1)/matching < lists {
		return x.prefixByScan(out, lo, hi, k, skip)
	}
	return x.prefixByMerge(out, lo, hi, k, skip)
}

// prefixByScan appends to out, in rank order, the tracks holding a word of
// ids [lo, hi) that skip does not refuse, until out holds k.
func (x *wordIndex) prefixByScan(out []uint32, lo, hi uint32, k int, skip func(uint32) bool) []uint32 {
	for r := range uint32(len(x.fwdOff) - 1) {
		ws := x.wordsOf(r)
		i, _ := slices.BinarySearch(ws, lo)
		if i < len(ws) && ws[i] < hi && !skip(r) {
			out = append(out, r)
			if len(out) == k {
				break
			}
		}
	}
	return out
}

// prefixByMerge is prefixByScan by merging the words' postings lists.
func (x *wordIndex) prefixByMerge(out []uint32, lo, hi uint32, k int, skip func(uint32) bool) []uint32 {
	h := make(listHeap, 0, hi-lo)
	for w := lo; w < hi; w++ {
		if p := x.postings(w); len(p) > 0 {
			h = append(h, p)
		}
	}
	heap.Init(&h)
	prev := ^uint32(0)
	for len(h) > 0 && len(out) < k {
		r := h[0][0]
		if h[0] = h[0][1:]; len(h[0]) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
		if r != prev && !skip(r) {
			out = append(out, r)
		}
		prev = r
	}
	return out
}

// listHeap is a min-heap of non-empty postings lists by their first rank.
type listHeap [][]uint32

func (h listHeap) Len() int           { return len(h) }
func (h listHeap) Less(i, j int) bool { return h[i][0] < h[j][0] }
func (h listHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *listHeap) Push(x any)        { *h = append(*h, x.([]uint32)) }
func (h *listHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// wordSpan is one word of a folded text: buf[from:to].
type wordSpan struct{ from, to int }

// foldTrack appends the folded words of t's name and artists to buf.
func foldTrack(buf []byte, spans []wordSpan, t *Track) ([]byte, []wordSpan) {
	buf, spans = foldWords(buf, spans, t.Name)
	for _, a := range t.Artists {
		buf, spans = foldWords(buf, spans, a)
	}
	return buf, spans
}

// appendWords appends the folded words of s to words.
func appendWords(words []string, buf []byte, s string) []string {
	buf, spans := foldWords(buf, nil, s)
	for _, sp := range spans {
		words = append(words, string(buf[sp.from:sp.to]))
	}
	return words
}

// foldWords appends the words of s to buf, lower-cased and without accents,
// and their spans to spans.
func foldWords(buf []byte, spans []wordSpan, s string) ([]byte, []wordSpan) {
	from := len(buf)
	var table map[rune]string
	for i := 0; i < len(s); {
		c := s[i]
		sep := false
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				buf = append(buf, c)
			case 'A' <= c && c <= 'Z':
				buf = append(buf, c+'a'-'A')
			case c == '\'' || c == '.':
				// joins: "don't" is "dont", "P.O.D." is "pod"
			default:
				sep = true
			}
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			if table == nil {
				table = foldTable()
			}
			if f, ok := table[r]; ok {
				buf = append(buf, f...)
				continue
			}
			switch {
			case r == '\u2019' || unicode.Is(unicode.Mn, r):
				// a typographic apostrophe joins; a combining accent is dropped
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				buf = utf8.AppendRune(buf, unicode.ToLower(r))
			default:
				sep = true
			}
		}
		if sep {
			if len(buf) > from {
				spans = append(spans, wordSpan{from, len(buf)})
			}
			from = len(buf)
		}
	}
	if len(buf) > from {
		spans = append(spans, wordSpan{from, len(buf)})
	}
	return buf, spans
}

// foldTable maps the accented Latin letters (Latin-1, Extended-A and B,
// Extended Additional) to their lower-case base letters, and a few letters
// that do not decompose to their usual spelling.
var foldTable = sync.OnceValue(func() map[rune]string {
	m := map[rune]string{
		'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
		'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d", 'ı': "i",
	}
	add := func(from, to rune) {
		for r := from; r <= to; r++ {
			if _, ok := m[r]; ok {
				continue
			}
			var b strings.Builder
			for _, d := range norm.NFD.String(string(r)) {
				if !unicode.Is(unicode.Mn, d) {
					b.WriteRune(unicode.ToLower(d))
				}
			}
			if f := b.String(); f != "" && f != string(r) && isASCIIWord(f) {
				m[r] = f
			}
		}
	}
	add(0xC0, 0x24F)
	add(0x1E00, 0x1EFF)
	return m
})

func isASCIIWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

package server

// Stand-ins for the filters helper's searchBody and parseSearchParams
// (server/request.go), with today's search options only. The coordinator
// deletes this file at merge.

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/audotics/soundalike"
)

// searchBody is the search options part of a POST body.
type searchBody struct {
	Exclude       []string `json:"exclude"`
	ExcludeArtist bool     `json:"exclude_artist"`
	Dedupe        *bool    `json:"dedupe"`
}

// options checks b and returns its search options.
func (b *searchBody) options() (soundalike.SearchOptions, error) {
	var opts soundalike.SearchOptions
	for i, x := range b.Exclude {
		ref, err := trackRef(fmt.Sprintf("exclude[%d]", i), x)
		if err != nil {
			return opts, err
		}
		opts.Exclude = append(opts.Exclude, ref)
	}
	opts.ExcludeArtist = b.ExcludeArtist
	opts.NoDedupe = b.Dedupe != nil && !*b.Dedupe
	return opts, nil
}

// parseSearchParams parses the search options of a GET query string; any
// other parameter is refused.
func parseSearchParams(q url.Values) (soundalike.SearchOptions, error) {
	var opts soundalike.SearchOptions
	searchParamNames := []string{"exclude", "exclude_artist", "dedupe"}
	for name, vs := range q {
		known := false
		for _, n := range searchParamNames {
			known = known || n == name
		}
		if !known {
			return opts, badRequest("unknown query parameter %q: accepted are %s", name, strings.Join(searchParamNames, ", "))
		}
		if len(vs) > 1 && name != "exclude" {
			return opts, badRequest("query parameter %s is given %d times: give it once", name, len(vs))
		}
	}
	for _, s := range q["exclude"] {
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				ref, err := trackRef("exclude", x)
				if err != nil {
					return opts, err
				}
				opts.Exclude = append(opts.Exclude, ref)
			}
		}
	}
	var err error
	if opts.ExcludeArtist, err = parseBool(q, "exclude_artist", false); err != nil {
		return opts, err
	}
	dedupe, err := parseBool(q, "dedupe", true)
	opts.NoDedupe = !dedupe
	return opts, err
}

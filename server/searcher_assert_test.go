package server_test

import (
	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// The Engine is what production passes to New.
var _ server.Searcher = (*soundalike.Engine)(nil)

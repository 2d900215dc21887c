package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Given --request-timeout 0 or negative, when publish, expect a usage
// error naming the flag and what it takes, before anything is sent.
func TestPublishRefusesARequestTimeout(t *testing.T) {
	for _, v := range []string{"0", "0s", "-5s"} {
		_, stderr, code := cli(t, "", "publish", "--weaviate", "http://127.0.0.1:1", "--request-timeout", v)
		if code != 2 || !strings.Contains(stderr, "--request-timeout") || !strings.Contains(stderr, "positive duration") {
			t.Errorf("publish --request-timeout %s: exit %d, %q; want 2 and an error naming --request-timeout and a positive duration", v, code, stderr)
		}
	}
}

// Given a node that takes every request and never answers, when publish
// --request-timeout 200ms, expect each request to the node to fail after
// 200ms (the client's timeout), not after the default 30s: the publish,
// given 20s, fails saying the node did not answer in time, where before
// the flag its 20s would have run out first.
func TestPublishRequestTimeout(t *testing.T) {
	db := testDB(t, 30)
	held := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client hangs up
	}))
	defer held.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err := runCmd(ctx, "publish", "--db", db, "--weaviate", held.URL, "--request-timeout", "200ms")
	t.Logf("%v: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), held.URL) || !strings.Contains(err.Error(), "Client.Timeout exceeded") {
		t.Fatalf("publish --request-timeout 200ms to a node that never answers: %v; want the client's timeout, naming %s", err, held.URL)
	}
}

// Given one of publish's numeric flags out of range, when publish, expect
// a usage error naming that flag alone and what it takes, worded as
// refuseFlag words it.
func TestPublishNamesTheFlagAtFault(t *testing.T) {
	flags := []string{"--shards", "--replication", "--batch-size", "--in-flight"}
	for _, tc := range []struct{ flag, value, want string }{
		{"--shards", "-1", `--shards "-1": want a positive number of shards, or 0 for one per node`},
		{"--replication", "-1", `--replication "-1": want a positive number of replicas, or 0 for the default`},
		{"--batch-size", "0", `--batch-size "0": want a positive number of objects a request`},
		{"--in-flight", "0", `--in-flight "0": want a positive number of requests`},
	} {
		_, stderr, code := cli(t, "", "publish", "--weaviate", "http://127.0.0.1:1", tc.flag, tc.value)
		if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "Run `soundalike publish -h`") {
			t.Errorf("publish %s %s: exit %d, %q; want 2, %q and the pointer to publish -h", tc.flag, tc.value, code, stderr, tc.want)
		}
		for _, other := range flags {
			if other != tc.flag && strings.Contains(stderr, other) {
				t.Errorf("publish %s %s: %q names %s too, which is not at fault", tc.flag, tc.value, stderr, other)
			}
		}
	}
}

// Given a database without a model, or with a model and no index, when
// publish to a cluster, expect the error to say what the database lacks
// and the command to run, before any request reaches the cluster.
func TestPublishChecksTheDatabaseFirst(t *testing.T) {
	var requests atomic.Int64
	cluster := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer cluster.Close()
	for _, tc := range []struct{ name, db, want string }{
		{"no model", importFile(t, "../../trainer/testdata/tracks.csv"), "publish: no model: run `soundalike train` first"},
		{"no index", noIndexDB(t, 30), "publish: no index: run `soundalike reindex` first"},
	} {
		requests.Store(0)
		_, _, err := runCmd(t.Context(), "publish", "--db", tc.db, "--weaviate", cluster.URL)
		if err == nil || err.Error() != tc.want {
			t.Errorf("publish with %s = %v, want %q", tc.name, err, tc.want)
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("publish with %s sent %d requests to the cluster, want none", tc.name, n)
		}
	}
}

// Given --weaviate naming a file that does not exist, when publish,
// expect a usage error saying there is no such file and what the flag
// takes, not that the path is a malformed URL.
func TestPublishWeaviateFileMissing(t *testing.T) {
	db := testDB(t, 30)
	missing := t.TempDir() + "/urls"
	_, stderr, code := cli(t, "", "publish", "--db", db, "--weaviate", missing)
	if code != 2 || !strings.Contains(stderr, "--weaviate "+missing+": no such file") || strings.Contains(stderr, "weaviate URL 1 of 1") {
		t.Errorf("publish --weaviate %s (no such file): exit %d, %q; want 2 and an error saying there is no such file", missing, code, stderr)
	}
}

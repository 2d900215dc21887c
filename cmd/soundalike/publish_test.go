package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
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

package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

// serve started while a batch job holds the database waits for it, then
// serves, instead of failing.
func TestServeWaitsForALockedDatabase(t *testing.T) {
	db := testDB(t, 50)
	writer, err := soundalike.Open(db, nil) // a batch job holding the lock
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"serve", "--db", db, "--addr", addr, "--log", "off"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	time.Sleep(1500 * time.Millisecond) // longer than the lock timeout
	select {
	case err := <-done:
		t.Fatalf("serve gave up while the database was locked: %v", err)
	default:
	}
	writer.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, "http://"+addr+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready 10s after the lock was released: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

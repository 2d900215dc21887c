package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// serve started while a batch job holds the database answers /healthz 200
// and /readyz 503 naming the job, waits for it, then serves, instead of
// failing.
func TestServeWaitsForALockedDatabase(t *testing.T) {
	db := testDB(t, 50)
	release := holdDB(t, db, "soundalike import") // a batch job holding the lock
	addr := freeAddr(t)
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"serve", "--db", db, "--addr", addr, "--log", "off"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	holder := fmt.Sprintf("soundalike import (pid %d", os.Getpid())
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, "http://"+addr+"/readyz")
		if code == 503 && strings.Contains(body, holder) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz while the database is held = %d %s, want 503 naming %s", code, body, holder)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Errorf("GET /healthz while waiting = %d %s, want 200", code, body)
	}
	if code, body := get(t, "http://"+addr+"/similar?track=t0001"); code != 503 || !strings.Contains(body, holder) {
		t.Errorf("GET /similar while waiting = %d %s, want 503 naming the holder", code, body)
	}
	time.Sleep(1200 * time.Millisecond) // longer than a lock try
	select {
	case err := <-done:
		t.Fatalf("serve gave up while the database was locked: %v", err)
	default:
	}
	release()
	deadline = time.Now().Add(10 * time.Second)
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

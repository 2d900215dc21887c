package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"
)

func TestDemoSampleMatchesTestdata(t *testing.T) {
	want, err := os.ReadFile("../../testdata/spotify_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(demoSample))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("demo_sample.csv.gz differs from testdata/spotify_sample.csv: run `go generate ./cmd/soundalike`")
	}
}

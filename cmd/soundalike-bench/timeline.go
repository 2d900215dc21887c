package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// timelineFile is bench serve's --timeline: every request of every phase,
// the client's times (its own process) joined with the handler's, so that
// a slow request can be placed: late to leave the client, slow to reach
// the handler, slow in it, or slow to come back. Stalls that hit every
// connection at once, and their period, show up in it.
type timelineFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
}

const timelineHeader = "phase,conn,measured,due_unix_ns,sent_unix_ns,handler_start_unix_ns,handler_end_unix_ns,answered_unix_ns,ok\n"

func createTimeline(path string) (*timelineFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--timeline: %w", err)
	}
	t := &timelineFile{path: path, f: f, w: bufio.NewWriter(f)}
	t.w.WriteString(timelineHeader)
	return t, nil
}

// add appends a phase: clientCSV is the client's --timeline file, calls
// the handler calls of the phase. A connection's requests are paired with
// the calls from its address in order (HTTP/1.1 answers one request at a
// time); where the counts differ (a connection broke mid-request), that
// connection's handler times are left empty.
func (t *timelineFile) add(phase, clientCSV string, calls []handlerCall) error {
	b, err := os.ReadFile(clientCSV)
	if err != nil {
		return err
	}
	byPeer := map[string][]handlerCall{}
	for _, c := range calls {
		byPeer[c.peer] = append(byPeer[c.peer], c)
	}
	type row struct{ conn, measured, due, sent, answered, ok []byte }
	byAddr := map[string][]row{}
	var order []string
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for i, line := range lines[1:] {
		f := bytes.Split(line, []byte(","))
		if len(f) != 7 {
			return fmt.Errorf("%s:%d: %d fields, want 7", clientCSV, i+2, len(f))
		}
		addr := string(f[1])
		if _, seen := byAddr[addr]; !seen {
			order = append(order, addr)
		}
		byAddr[addr] = append(byAddr[addr], row{f[0], f[2], f[3], f[4], f[5], f[6]})
	}
	for _, addr := range order {
		rows, hs := byAddr[addr], byPeer[addr]
		for i, r := range rows {
			start, end := "", ""
			if len(hs) == len(rows) {
				start = strconv.FormatInt(hs[i].start, 10)
				end = strconv.FormatInt(hs[i].start+int64(hs[i].d), 10)
			}
			fmt.Fprintf(t.w, "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", phase, r.conn, r.measured, r.due, r.sent, start, end, r.answered, r.ok)
		}
	}
	return nil
}

// Close flushes and closes the file; after the first call it does nothing,
// so that a deferred Close can back up the checked one.
func (t *timelineFile) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.w.Flush()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.f = nil
	if err != nil {
		return fmt.Errorf("--timeline %s: %w", t.path, err)
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// writeChunk is how much the end-to-end server writes, and flushes, at a
// time: the stream arrives as fast as loopback carries it, so the table
// measures the client rather than the server.
const writeChunk = 32 << 10

// A streamServer is a loopback HTTP server that sends each registered stream
// to the first request for its URL and answers 204 No Content (which tells an
// EventSource to stop for good) to any later one, so that a client that
// reconnects cannot count the workload twice.
type streamServer struct {
	*httptest.Server

	mu      sync.Mutex // guards next, streams
	next    int
	streams map[string][]byte
}

func newStreamServer() *streamServer {
	ss := &streamServer{streams: make(map[string][]byte)}
	ss.Server = httptest.NewServer(ss)
	return ss
}

// once registers wire and returns the URL that serves it once.
func (ss *streamServer) once(wire []byte) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.next++
	path := fmt.Sprintf("/stream/%d", ss.next)
	ss.streams[path] = wire
	return ss.URL + path
}

func (ss *streamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ss.mu.Lock()
	wire, ok := ss.streams[r.URL.Path]
	delete(ss.streams, r.URL.Path)
	ss.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for len(wire) > 0 {
		n := min(len(wire), writeChunk)
		if _, err := w.Write(wire[:n]); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		wire = wire[n:]
	}
}

// newClient returns an HTTP client with a transport of its own, so that no
// run reuses another's connection, and the function that releases it.
func newClient() (*http.Client, func()) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = 1
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

// streamTimeout bounds one end-to-end run, so that a client that never
// stops shows up as an error instead of a hang.
const streamTimeout = 2 * time.Minute

// runStream times lib's client reading w once from ss.
func (ss *streamServer) runStream(lib *library, w *workload, s *sink) (sample, error) {
	hc, release := newClient()
	defer release()
	url := ss.once(w.wire)
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	defer cancel()
	return measure(func() error { return lib.stream(ctx, hc, url, s) })
}

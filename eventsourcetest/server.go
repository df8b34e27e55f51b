// Package eventsourcetest provides a scriptable Server-Sent Events server for
// tests, in the manner of [net/http/httptest].
//
// A [Server] answers each request with a [Script]: a list of [Step] values
// that write events, comments and raw bytes, flush or hold them back, wait,
// answer any status, repeat (a body of any size, an endless one), and drop
// the connection, at a step or after a number of bytes. Request n gets the
// n-th script given to [NewServer]; once the scripts run out, the last one
// answers every later request. So
//
//	srv := eventsourcetest.NewServer(
//		eventsourcetest.Script{eventsourcetest.Status(503, "Retry-After", "1")},
//		eventsourcetest.Script{eventsourcetest.Data("hello"), eventsourcetest.Stall()},
//	)
//	defer srv.Close()
//
// answers the first request with 503 and every later one with a stream that
// sends one event and stays open until the client leaves or the server
// closes.
//
// The server records every request it gets ([Server.Requests]), and a test
// waits for the n-th one with [Server.WaitRequests] instead of sleeping; a
// long test forgets them with [Server.ClearRequests].
//
// [Feed] serves a resumable feed: a request gets the events after the one
// named by its Last-Event-ID header. [Func] picks the steps when the request
// arrives, from its path or headers, or from what the test knows by then.
//
// A Server leaves no goroutine behind: a script stops when its client goes
// away, and [Server.Close] ends every script still waiting.
package eventsourcetest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
)

// A Server is an HTTP server on the loopback interface that answers every
// request with a [Script]. It embeds an [httptest.Server], so URL, Client,
// Certificate, CloseClientConnections, EnableHTTP2, Start and StartTLS work
// as they do there.
//
// Its methods may be called from any goroutine.
type Server struct {
	*httptest.Server

	scripts []Script

	closed    chan struct{} // closed by Close, ends every Wait and Stall
	closeOnce sync.Once

	mu       sync.Mutex    // guards requests, served, arrived
	requests []Request     // in the order they arrived, since ClearRequests
	served   int           // requests received, which picks the script
	arrived  chan struct{} // closed and replaced when a request is recorded
}

// NewServer starts and returns a new plain HTTP server that answers request
// n (counted from 1) with scripts[n-1], and every request after the last
// script with the last script. With no scripts, every request gets an empty
// stream: a 200 text/event-stream response that ends at once.
//
// The caller should call Close when finished, to shut it down.
func NewServer(scripts ...Script) *Server {
	s := NewUnstartedServer(scripts...)
	s.Start()
	return s
}

// NewTLSServer starts and returns a new HTTPS server that answers requests
// as [NewServer] does. [httptest.Server.Client] returns a client that trusts
// it.
//
// The caller should call Close when finished, to shut it down.
func NewTLSServer(scripts ...Script) *Server {
	s := NewUnstartedServer(scripts...)
	s.StartTLS()
	return s
}

// NewUnstartedServer returns a new server that answers requests as
// [NewServer] does, but does not start it. Change its configuration (set
// EnableHTTP2 for HTTP/2, or Config) and then call Start or StartTLS.
//
// The caller should call Close when finished, to shut it down.
func NewUnstartedServer(scripts ...Script) *Server {
	s := &Server{
		scripts: slices.Clone(scripts),
		closed:  make(chan struct{}),
		arrived: make(chan struct{}),
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close ends every script that waits ([Wait], [Stall]) or repeats
// ([Repeat]) by dropping its connection, then shuts the server down and
// blocks until all its handlers have returned. Close may be called more
// than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.Server.Close()
}

// A Request is what the server recorded of one request it received.
type Request struct {
	Method      string
	URL         string // the request target: path and query, as in "/stream?x=1"
	Proto       string // "HTTP/1.1" or "HTTP/2.0"
	Header      http.Header
	Body        string // the whole request body
	LastEventID string // the Last-Event-ID header, "" when it had none
}

// Requests returns the requests the server has received so far, in the
// order they arrived. A request is recorded when it arrives, before its
// script runs. The result is a copy that the caller may keep and change.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneRequests(s.requests)
}

// WaitRequests blocks until the server has received at least n requests and
// returns them, as [Server.Requests] would. If ctx ends first, it returns the
// requests received so far and ctx.Err().
func (s *Server) WaitRequests(ctx context.Context, n int) ([]Request, error) {
	for {
		s.mu.Lock()
		reqs, arrived := cloneRequests(s.requests), s.arrived
		s.mu.Unlock()
		if len(reqs) >= n {
			return reqs, nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return reqs, ctx.Err()
		}
	}
}

// ClearRequests forgets the requests received so far: [Server.Requests]
// and [Server.WaitRequests] count from here on. The scripts do not start
// again: the next request still gets the script its number picks. A test
// that makes many requests to one Server (a fuzz target, a soak test) calls
// it between rounds, so that the record does not grow without bound.
func (s *Server) ClearRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// Reading the whole body first also lets net/http watch the connection,
	// so r.Context ends when the client goes away.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req := Request{
		Method:      r.Method,
		URL:         r.URL.RequestURI(),
		Proto:       r.Proto,
		Header:      r.Header.Clone(),
		Body:        string(body),
		LastEventID: r.Header.Get("Last-Event-ID"),
	}
	n := s.record(req)
	var script Script
	if len(s.scripts) > 0 {
		script = s.scripts[min(n, len(s.scripts))-1]
	}
	req.Header = req.Header.Clone() // the recorded one stays as it came
	script.serve(w, r, req, s.closed)
}

// record appends req and returns how many requests the server received,
// req included.
func (s *Server) record(req Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	s.served++
	close(s.arrived)
	s.arrived = make(chan struct{})
	return s.served
}

func cloneRequests(reqs []Request) []Request {
	out := make([]Request, len(reqs))
	for i, r := range reqs {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// This file holds the request of one attempt: how it is built from the
// options, the last event ID and the request hook, and how it is sent.

package eventsource

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// newRequest builds the request of one attempt, and runs the request hook.
func (es *EventSource) newRequest(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if es.cfg.body != nil {
		body = bytes.NewReader(es.cfg.body)
	}
	req, err := http.NewRequestWithContext(ctx, es.cfg.method, es.url, body)
	if err != nil {
		return nil, err
	}
	// An ID with a control character cannot go in a header: sending it
	// would fail every attempt, so the request goes without, as a first
	// connection does.
	id := es.LastEventID()
	if id != "" && !validHeaderValue(id) {
		id = ""
	}
	if id != "" || !es.sharesHeader {
		// A header map of its own: net/http adds a cookie jar's cookies
		// to it, and a shared map would keep them all.
		req.Header = es.cfg.header.Clone()
	} else {
		req.Header = es.cfg.header
	}
	if id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	if hook := es.cfg.requestHook; hook != nil {
		origBody, origHost := req.Body, req.Host
		if err := hook(req); err != nil {
			return req, fmt.Errorf("%w: %w", errHook, err)
		}
		if req.Body != origBody {
			// The hook sent another body, or none: what described the
			// old one no longer holds.
			req.GetBody = nil
			if req.Body == nil || req.Body == http.NoBody {
				req.Body, req.ContentLength = nil, 0
			} else if req.ContentLength == int64(len(es.cfg.body)) {
				req.ContentLength = -1 // unknown: sent chunked
			}
		}
		if req.Host == origHost && req.URL.Host != origHost {
			req.Host = "" // the URL's host, which the hook changed
		}
	}
	return req, nil
}

// send sends req with c from a goroutine of its own, which ends when the
// response head arrives or the request fails; a panic in c (a
// RoundTripper's, say) goes on in the caller's goroutine.
//
// The goroutine that then reads the stream has never made the deep calls
// of sending a request. Had it made them, its stack would have grown to 8
// or 16 KiB and stayed so while it waits in a read: the runtime halves a
// stack only when a quarter of it is in use, and net/http's read path and
// ours take more than a quarter of 8 KiB. It keeps what the read needs
// (4 KiB) instead, unless it started with more or a callback grew it.
func send(c *http.Client, req *http.Request) (*http.Response, error) {
	type result struct {
		resp     *http.Response
		err      error
		panicked bool
		value    any // what the panic was, or nil for runtime.Goexit
	}
	ch := make(chan result, 1)
	go func() {
		r := result{panicked: true}
		defer func() {
			if r.panicked {
				r.value = recover()
			}
			ch <- r
		}()
		r.resp, r.err = c.Do(req)
		r.panicked = false
	}()
	r := <-ch
	if r.panicked {
		panic(r.value)
	}
	return r.resp, r.err
}

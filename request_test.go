package eventsource_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// TestRequestHeadersAndBody checks what each of three requests carries,
// across two reconnections: the method, the body, the headers of the options
// and the standard ones, and the Last-Event-ID that the events before left:
// WithLastEventID sets the first one, an "id:" line changes it, an empty one
// resets it (no header), and an event without one keeps it.
func TestRequestHeadersAndBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		scripts         []est.Script
		opts            []eventsource.Option
		method, body    string
		header          http.Header // more headers that every request carries
		events          []eventsource.Event
		lastIDs         [][]string // the Last-Event-ID header of each request
		firstID, lastID string     // LastEventID before Run, and after
	}{
		{
			name: "POST with a body and headers",
			scripts: []est.Script{
				{est.Send(est.Event{ID: "1", Data: "a"})},
				{est.Raw("id:\ndata: b\n\n")}, // an empty id resets the last event ID
				{est.Data("c"), est.Stall()},
			},
			opts: []eventsource.Option{
				eventsource.WithMethod(http.MethodPost),
				eventsource.WithBody([]byte(`{"q":1}`)),
				eventsource.WithHeader("Content-Type", "application/json"),
				eventsource.WithHeader("X-Custom", "v"),
			},
			method: http.MethodPost,
			body:   `{"q":1}`,
			header: http.Header{"Content-Type": {"application/json"}, "X-Custom": {"v"}},
			events: []eventsource.Event{
				{Type: "message", Data: "a", ID: "1"},
				{Type: "message", Data: "b", ID: ""},
				{Type: "message", Data: "c", ID: ""},
			},
			lastIDs: [][]string{nil, {"1"}, nil},
		},
		{
			name: "WithLastEventID",
			scripts: []est.Script{
				{est.Data("a")},
				{est.Send(est.Event{ID: "42", Data: "b"})},
				{est.Data("c"), est.Stall()}, // no id after a reconnection: the stored one stays
			},
			opts:   []eventsource.Option{eventsource.WithLastEventID("41")},
			method: http.MethodGet,
			events: []eventsource.Event{
				{Type: "message", Data: "a", ID: "41"},
				{Type: "message", Data: "b", ID: "42"},
				{Type: "message", Data: "c", ID: "42"},
			},
			lastIDs: [][]string{{"41"}, {"41"}, {"42"}},
			firstID: "41",
			lastID:  "42",
		},
		{
			// Requests without an ID share one header map, and the one
			// that carries an ID has its own: the third goes without.
			name: "no options",
			scripts: []est.Script{
				{est.Send(est.Event{ID: "7", Data: "a"})},
				{est.Raw("id\ndata: b\n\n")},
				{est.Data("c"), est.Stall()},
			},
			method: http.MethodGet,
			events: []eventsource.Event{
				{Type: "message", Data: "a", ID: "7"},
				{Type: "message", Data: "b", ID: ""},
				{Type: "message", Data: "c", ID: ""},
			},
			lastIDs: [][]string{nil, {"7"}, nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.scripts...)
			es := newES(t, srv, append([]eventsource.Option{fastRetry()}, tc.opts...)...)
			assert.Equal(t, tc.firstID, es.LastEventID())
			tp := listen(es)
			tp.stopAt = len(tc.events)
			require.NoError(t, recv(t, run(t, es)))

			assert.Equal(t, tc.events, tp.events)
			assert.Equal(t, tc.lastID, es.LastEventID())
			reqs := srv.Requests()
			require.Len(t, reqs, len(tc.lastIDs))
			for i, req := range reqs {
				assert.Equal(t, tc.method, req.Method, "request %d", i+1)
				assert.Equal(t, tc.body, req.Body, "request %d", i+1)
				assert.Equal(t, []string{"text/event-stream"}, req.Header.Values("Accept"), "request %d", i+1)
				assert.Equal(t, []string{"no-cache"}, req.Header.Values("Cache-Control"), "request %d", i+1)
				for key, values := range tc.header {
					assert.Equal(t, values, req.Header.Values(key), "request %d", i+1)
				}
				assert.Equal(t, tc.lastIDs[i], req.Header.Values("Last-Event-ID"), "request %d", i+1)
			}
		})
	}
}

func TestRequestHook(t *testing.T) {
	t.Parallel()
	hookErr := errors.New("token source down")
	for _, failAt := range []int{1, 3} {
		t.Run(fmt.Sprintf("fails at attempt %d", failAt), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Data("x")}) // then a clean end: reconnect
			attempts := 0
			es := newES(t, srv, fastRetry(),
				eventsource.WithHeader("Authorization", "static"),
				eventsource.WithRequestHook(func(req *http.Request) error {
					assert.True(t, onRunGoroutine())
					if attempts++; attempts == failAt {
						return fmt.Errorf("refresh: %w", hookErr)
					}
					req.Header.Set("Authorization", fmt.Sprintf("Bearer token-%d", attempts))
					return nil
				}))
			var errs []error
			es.OnError(func(err error) { errs = append(errs, err) })
			err := recv(t, run(t, es))
			require.ErrorIs(t, err, hookErr)

			assert.Equal(t, failAt, attempts)
			require.Len(t, errs, failAt, "OnError for each drop, and once for the hook")
			require.ErrorIs(t, errs[failAt-1], hookErr)
			for _, err := range errs[:failAt-1] {
				require.ErrorIs(t, err, io.EOF)
			}
			var got []string
			for _, req := range srv.Requests() {
				got = append(got, req.Header.Get("Authorization"))
			}
			var want []string
			for i := 1; i < failAt; i++ {
				want = append(want, fmt.Sprintf("Bearer token-%d", i))
			}
			assert.Equal(t, want, got, "only the attempts before the failure were made")
		})
	}
}

// TestCookieJarRotation: with a cookie jar, each request carries exactly
// the jar's current cookies, over 100 reconnections in which the server
// rotates its session cookie: none piles up.
func TestCookieJarRotation(t *testing.T) {
	t.Parallel()
	const reconnections = 100
	var srv *est.Server
	srv = newServer(t, est.Script{est.Func(func(est.Request) est.Script {
		n := len(srv.Requests())
		return est.Script{est.Status(http.StatusOK, "Set-Cookie", fmt.Sprintf("sess=v%d-%s; Path=/", n, strings.Repeat("c", 120))), est.Data("x")}
	})})
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := srv.Client()
	client.Jar = jar
	es := newES(t, srv, eventsource.WithHTTPClient(client), fastRetry())
	es.OnEvent(func(eventsource.Event) {
		if len(srv.Requests()) > reconnections {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))
	reqs := srv.Requests()
	require.Len(t, reqs, reconnections+1)
	assert.Empty(t, reqs[0].Header.Values("Cookie"), "the first request has no cookie yet")
	for i, req := range reqs[1:] {
		want := fmt.Sprintf("sess=v%d-%s", i+1, strings.Repeat("c", 120))
		assert.Equal(t, []string{want}, req.Header.Values("Cookie"), "request %d", i+1)
	}
}

// TestRequestsChangeAcrossReconnections: the request hook may change the
// method, the URL's query, the headers and the body of each attempt; it
// tells the first attempt from a reconnection with Stats().Connections,
// and knows the last event ID. What it changes does not carry over.
func TestRequestsChangeAcrossReconnections(t *testing.T) {
	t.Parallel()
	events := []est.Event{{ID: "1", Data: "a"}, {ID: "2", Data: "b"}, {ID: "3", Data: "c"}}
	srv := newServer(t,
		est.Script{est.Status(http.StatusOK, "Mcp-Session-Id", "abc"), est.Feed(events, 2), est.Drop()},
		est.Script{est.Feed(events, 0), est.Stall()})
	var es *eventsource.EventSource
	var session string
	var seen []string // what the hook saw: attempts made before, last event ID
	es, err := eventsource.New(srv.URL+"/mcp?v=1", eventsource.WithHTTPClient(srv.Client()), fastRetry(),
		eventsource.WithMethod(http.MethodPost), eventsource.WithBody([]byte(`{"jsonrpc":"2.0","id":1}`)),
		eventsource.WithHeader("Content-Type", "application/json"),
		eventsource.WithResponseHook(func(resp *http.Response) error {
			session = resp.Header.Get("Mcp-Session-Id")
			return nil
		}),
		eventsource.WithRequestHook(func(req *http.Request) error {
			seen = append(seen, fmt.Sprintf("%d %q", es.Stats().Connections, es.LastEventID()))
			if es.Stats().Connections > 0 {
				req.Method, req.Body = http.MethodGet, nil
				req.Header.Del("Content-Type")
				req.Header.Set("Mcp-Session-Id", session)
				req.URL.RawQuery = "v=1&after=" + es.LastEventID()
			}
			return nil
		}))
	require.NoError(t, err)
	var got []string
	es.OnEvent(func(ev eventsource.Event) {
		if got = append(got, ev.Data); len(got) == 3 {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, []string{"a", "b", "c"}, got)
	assert.Equal(t, []string{`0 ""`, `1 "2"`}, seen)
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, http.MethodPost, reqs[0].Method)
	assert.Equal(t, "/mcp?v=1", reqs[0].URL)
	assert.Equal(t, `{"jsonrpc":"2.0","id":1}`, reqs[0].Body)
	assert.Equal(t, http.MethodGet, reqs[1].Method)
	assert.Equal(t, "/mcp?v=1&after=2", reqs[1].URL)
	assert.Empty(t, reqs[1].Body)
	assert.Empty(t, reqs[1].Header.Get("Content-Type"))
	assert.Equal(t, "abc", reqs[1].Header.Get("Mcp-Session-Id"))
	assert.Equal(t, "2", reqs[1].LastEventID)
}

// TestRequestHookNewBody: a body that the hook sets goes out whole, in
// place of WithBody's.
func TestRequestHookNewBody(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
	es := newES(t, srv, eventsource.WithMethod(http.MethodPost), eventsource.WithBody([]byte("old")),
		eventsource.WithRequestHook(func(req *http.Request) error {
			req.Body = io.NopCloser(strings.NewReader("a longer body"))
			return nil
		}))
	es.OnEvent(func(eventsource.Event) { es.Close() })
	require.NoError(t, recv(t, run(t, es)))
	require.Len(t, srv.Requests(), 1)
	assert.Equal(t, "a longer body", srv.Requests()[0].Body)
}

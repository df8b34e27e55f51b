package eventsource_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// This file tests the life of an EventSource: Close, the end of the
// context, a second Run and a panicking callback at every point of it, the
// Events iterator and the logger. The leak check of TestMain (goleak)
// covers every test; the tests of stops also check that the server saw its
// connection go.

// TestStopAtEveryPoint stops an EventSource with Close, Close twice, Close
// from many goroutines at once, a cancelled context or a passed deadline:
// before Run, while it dials (a handler that holds the headers; a listener
// that accepts and never answers), in the middle of the response headers,
// while it waits for the body, during a callback, between events, during
// OnError, and during the backoff wait. Run must return promptly (nil after
// Close, ctx.Err() after the context), run no callback and make no request
// after that, and close the connection in flight; OnError ran only for a
// failure before the stop, and Close after Run returned is harmless.
func TestStopAtEveryPoint(t *testing.T) {
	t.Parallel()
	points := []string{
		"before Run",
		"dial: handler holds the headers",
		"dial: listener never answers",
		"in the response headers",
		"waiting for the body",
		"in a callback",
		"between events",
		"in OnError",
		"in the backoff wait",
	}
	stops := []string{"Close", "Close twice", "Close from 16 goroutines", "cancel", "deadline"}
	for _, point := range points {
		for _, stop := range stops {
			t.Run(point+"/"+stop, func(t *testing.T) {
				t.Parallel()
				testStopAt(t, point, stop)
			})
		}
	}
}

func testStopAt(t *testing.T, point, stop string) {
	var (
		srv     *est.Server           // the server, or where HTTP must break:
		rs      *raw                  // a raw listener
		gone    <-chan struct{}       // a connection closed, as the server saw it
		reached = make(chan struct{}) // a callback is at the point
		release = make(chan struct{})
		clock   = eventsource.NewFakeClock(true)
	)
	switch point {
	case "before Run":
		srv, gone = watchedServer(t, est.Script{est.Data("1"), est.Stall()})
	case "dial: handler holds the headers":
		srv, gone = watchedServer(t, est.Script{est.Stall()})
	case "dial: listener never answers":
		rs = rawServer(t, "")
	case "in the response headers":
		rs = rawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Con")
	case "waiting for the body":
		srv, gone = watchedServer(t, est.Script{est.Flush(), est.Stall()})
	case "in a callback":
		srv, gone = watchedServer(t, est.Script{est.Data("1"), est.Data("2"), est.Stall()})
	case "between events":
		srv, gone = watchedServer(t, est.Script{est.Data("1"), est.Stall()})
	case "in OnError":
		srv, gone = watchedServer(t, est.Script{est.Data("1"), est.Drop()}, est.Script{est.Data("2"), est.Stall()})
	case "in the backoff wait":
		srv, gone = watchedServer(t, est.Script{est.Status(503)}, est.Script{est.Data("2"), est.Stall()})
		clock = eventsource.NewFakeClock(false)
	}
	arrived := (<-chan struct{})(reached) // Run is at the point
	var url string
	var client *http.Client
	if srv != nil {
		url, client = srv.URL, srv.Client()
	} else {
		url, client, gone, arrived = rs.url, rs.client, rs.gone, rs.reached
	}
	es, err := eventsource.New(url, eventsource.WithHTTPClient(client), eventsource.WithClock(clock))
	require.NoError(t, err)

	var mu sync.Mutex // guards log; callbacks run on Run's goroutine, the test reads it meanwhile
	var log []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf(format, args...))
	}
	es.OnOpen(func() {
		logf("open")
		if point == "waiting for the body" {
			close(reached)
		}
	})
	es.OnEvent(func(ev eventsource.Event) {
		logf("event %s", ev.Data)
		if point == "in a callback" {
			close(reached)
			<-release
		}
	})
	es.OnMessage(func(ev eventsource.Event) {
		logf("message %s", ev.Data)
		if point == "between events" {
			close(reached)
		}
	})
	es.OnError(func(err error) {
		logf("error")
		if point == "in OnError" {
			close(reached)
			<-release
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deadline := newDeadlineCtx()
	if stop == "deadline" {
		ctx = deadline
	}
	var done <-chan error
	if point == "before Run" {
		close(reached)
	} else {
		done = runCtx(t, ctx, es)
	}
	switch point {
	case "dial: handler holds the headers":
		_, err := srv.WaitRequests(ctx, 1)
		require.NoError(t, err)
	case "in the backoff wait":
		wait := recv(t, clock.Timers())
		assert.Positive(t, wait.D)
	default:
		recv(t, arrived)
	}
	mu.Lock()
	before := append([]string(nil), log...)
	mu.Unlock()

	switch stop {
	case "Close":
		require.NoError(t, es.Close())
	case "Close twice":
		require.NoError(t, es.Close())
		require.NoError(t, es.Close())
	case "Close from 16 goroutines":
		var wg sync.WaitGroup
		var errs atomic.Int32
		for range 16 {
			wg.Go(func() {
				if es.Close() != nil {
					errs.Add(1)
				}
				_ = es.ReadyState()
				_ = es.LastEventID()
			})
		}
		wg.Wait()
		assert.Zero(t, errs.Load())
	case "cancel":
		cancel()
	case "deadline":
		deadline.expire()
	}
	byContext := stop == "cancel" || stop == "deadline"
	if !byContext {
		assert.Equal(t, eventsource.Closed, es.ReadyState(), "Closed at once")
	}
	close(release) // a callback under way may finish
	if point == "before Run" {
		done = runCtx(t, ctx, es)
	}
	err = recv(t, done)
	switch stop {
	case "cancel":
		require.ErrorIs(t, err, context.Canceled)
	case "deadline":
		require.ErrorIs(t, err, context.DeadlineExceeded)
	default:
		require.NoError(t, err)
	}
	assert.Equal(t, eventsource.Closed, es.ReadyState())
	require.NoError(t, es.Close(), "Close after Run returned")
	assert.Equal(t, eventsource.Closed, es.ReadyState())

	mu.Lock()
	after := append([]string(nil), log...)
	mu.Unlock()
	assert.Equal(t, before, after, "no callback after the stop; the one under way ends the dispatch")
	wantErrors := 0
	if point == "in OnError" || point == "in the backoff wait" {
		wantErrors = 1 // the drop, or the 503 before the wait
	}
	assert.Equal(t, wantErrors, strings.Count(strings.Join(after, ","), "error"), "OnError calls")
	switch point {
	case "before Run":
		assert.Empty(t, srv.Requests(), "no request")
	case "in OnError", "in the backoff wait":
		assert.Len(t, srv.Requests(), 1, "no reconnection")
	case "waiting for the body", "in a callback", "between events", "dial: handler holds the headers":
		assert.Len(t, srv.Requests(), 1)
	}
	if point != "before Run" && point != "in the backoff wait" {
		recv(t, gone) // the connection in flight was closed
	}
}

// deadlineCtx is a context whose deadline passes when the test calls
// expire, so that a test reaches context.DeadlineExceeded at a chosen
// moment without waiting on the clock. Like a real deadline, its end
// reaches the contexts made from it at once: it is a cancel context that
// reports DeadlineExceeded.
type deadlineCtx struct {
	context.Context
	expire context.CancelFunc
}

func newDeadlineCtx() *deadlineCtx {
	ctx, cancel := context.WithCancel(context.Background())
	return &deadlineCtx{ctx, cancel}
}

func (c *deadlineCtx) Err() error {
	if c.Context.Err() != nil {
		return context.DeadlineExceeded
	}
	return nil
}

// TestRunConcurrently calls Run from eight goroutines at once: one runs,
// the others get ErrRunTwice at once; a Run while the first one streams,
// and a later Run, do too. After Close before Run, one Run returns nil and
// the others ErrRunTwice.
func TestRunConcurrently(t *testing.T) {
	t.Parallel()
	for _, closeFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("Close first=%v", closeFirst), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Data("1"), est.Stall()})
			es := newES(t, srv)
			t.Cleanup(func() { es.Close() })
			opened := make(chan struct{})
			es.OnOpen(func() { close(opened) })
			if closeFirst {
				require.NoError(t, es.Close())
			}
			const n = 8
			start := make(chan struct{})
			results := make(chan error, n)
			for range n {
				go func() {
					<-start
					results <- es.Run(context.Background())
				}()
			}
			close(start)
			if !closeFirst {
				for range n - 1 {
					require.ErrorIs(t, recv(t, results), eventsource.ErrRunTwice)
				}
				recv(t, opened) // the Run that runs is undisturbed
				assert.Equal(t, eventsource.Open, es.ReadyState())
				require.ErrorIs(t, es.Run(context.Background()), eventsource.ErrRunTwice, "while the first Run runs")
				assert.Equal(t, eventsource.Open, es.ReadyState(), "the second Run does not disturb the first")
				require.NoError(t, es.Close())
				require.NoError(t, recv(t, results))
				assert.Len(t, srv.Requests(), 1)
			} else {
				var nils, twice int
				for range n {
					if err := recv(t, results); err == nil {
						nils++
					} else {
						require.ErrorIs(t, err, eventsource.ErrRunTwice)
						twice++
					}
				}
				assert.Equal(t, 1, nils)
				assert.Equal(t, n-1, twice)
				assert.Empty(t, srv.Requests())
			}
			require.ErrorIs(t, es.Run(context.Background()), eventsource.ErrRunTwice, "after Run returned")
		})
	}
}

// TestPanicInCallback: a panic in a callback, a listener, the request
// hook or the HTTP client's transport (which runs on a goroutine of its
// own while the request is sent) reaches the caller of Run unchanged, and leaves nothing behind: the
// server sees the connection closed, ReadyState is Closed, no request
// follows, and the leak check passes.
func TestPanicInCallback(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"OnOpen", "OnComment", "OnEvent", "OnMessage", "listener", "OnError", "request hook", "retry policy", "transport"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			boom := "boom in " + where
			scripts := []est.Script{{est.Comment("c"), est.Data("1"), est.Stall()}}
			if where == "OnError" || where == "request hook" || where == "retry policy" || where == "transport" {
				scripts = []est.Script{{est.Data("1"), est.Drop()}, {est.Data("2"), est.Stall()}}
			}
			srv, gone := watchedServer(t, scripts...)
			attempts, sent := 0, 0
			client := srv.Client()
			transport := client.Transport
			client.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
				if sent++; where == "transport" && sent == 2 {
					panic(boom)
				}
				return transport.RoundTrip(req)
			})
			es := newES(t, srv, fastRetry(), eventsource.WithHTTPClient(client),
				eventsource.WithRequestHook(func(*http.Request) error {
					if attempts++; where == "request hook" && attempts == 2 {
						panic(boom)
					}
					return nil
				}),
				eventsource.WithRetryPolicy(func(err error) bool {
					if where == "retry policy" {
						panic(boom)
					}
					return eventsource.DefaultRetryPolicy(err)
				}))
			panicIn := func(name string) {
				if name == where {
					panic(boom)
				}
			}
			es.OnOpen(func() { panicIn("OnOpen") })
			es.OnComment(func(string) { panicIn("OnComment") })
			es.OnEvent(func(eventsource.Event) { panicIn("OnEvent") })
			es.OnMessage(func(eventsource.Event) { panicIn("OnMessage") })
			es.AddEventListener("message", func(eventsource.Event) { panicIn("listener") })
			es.OnError(func(error) { panicIn("OnError") })

			recovered := make(chan any, 1)
			go func() {
				defer func() { recovered <- recover() }()
				err := es.Run(context.Background())
				t.Errorf("Run returned %v instead of panicking", err)
			}()
			assert.Equal(t, boom, recv(t, recovered))
			recv(t, gone) // the server saw the connection closed
			assert.Equal(t, eventsource.Closed, es.ReadyState())
			require.NoError(t, es.Close())
			require.ErrorIs(t, es.Run(context.Background()), eventsource.ErrRunTwice)
			assert.Len(t, srv.Requests(), 1, "no request after the panic")
		})
	}
}

// watchedServer starts an eventsourcetest server, closed at the end of the
// test, and returns a channel that receives each time one of its handlers
// returns: for a script that stalls, when the client closed the connection.
func watchedServer(t *testing.T, scripts ...est.Script) (*est.Server, <-chan struct{}) {
	t.Helper()
	srv := est.NewUnstartedServer(scripts...)
	gone := make(chan struct{}, 64)
	inner := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { gone <- struct{}{} }()
		inner.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, gone
}

// TestRunWithCancelledContext: Run with a context already cancelled
// returns ctx.Err() before anything: no request hook, no request, no
// connection counted, no callback.
func TestRunWithCancelledContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	hooks := 0
	es := newES(t, srv, eventsource.WithRequestHook(func(*http.Request) error {
		hooks++
		return nil
	}))
	errs := 0
	es.OnError(func(error) { errs++ })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, es.Run(ctx), context.Canceled)
	assert.Zero(t, hooks, "request hook")
	assert.Zero(t, errs, "OnError")
	assert.Zero(t, es.Stats().Connections)
	assert.Empty(t, srv.Requests())
	assert.Equal(t, eventsource.Closed, es.ReadyState())
}

// TestEventsIterator proves the range-over-func view: the events of every
// connection once, in order, after the callbacks; break closes the stream.
func TestEventsIterator(t *testing.T) {
	t.Parallel()
	srv := newServer(t,
		est.Script{est.Raw("id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: cut")},
		est.Script{est.Raw("id: 3\ndata: c\n\nid: 4\ndata: d\n\n"), est.Stall()}, // only the client's close ends this one
	)
	es := newES(t, srv, fastRetry())
	var order []string
	es.OnEvent(func(ev eventsource.Event) { order = append(order, "callback "+ev.Data) })
	for ev, err := range es.Events(context.Background()) {
		require.NoError(t, err)
		order = append(order, "loop "+ev.Data)
		if ev.ID == "4" {
			break
		}
	}
	assert.Equal(t, []string{
		"callback a", "loop a", "callback b", "loop b",
		"callback c", "loop c", "callback d", "loop d",
	}, order)
	assert.Equal(t, eventsource.Closed, es.ReadyState(), "break closed the EventSource")
	assert.Equal(t, "4", es.LastEventID())
}

// TestEventsIteratorFinalError proves that the error ending the stream is
// yielded once, last, and that retried failures are not.
func TestEventsIteratorFinalError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("only")}, est.Script{est.Status(http.StatusGone), est.Raw("gone\n")})
	es := newES(t, srv, fastRetry())
	var retried []error
	es.OnError(func(err error) { retried = append(retried, err) })
	var data []string
	var errs []error
	for ev, err := range es.Events(context.Background()) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data = append(data, ev.Data)
	}
	assert.Equal(t, []string{"only"}, data)
	require.Len(t, errs, 1)
	var status *eventsource.StatusError
	require.ErrorAs(t, errs[0], &status)
	assert.Equal(t, http.StatusGone, status.StatusCode)
	require.Len(t, retried, 2, "OnError saw the end of stream and the 410")
	assert.ErrorIs(t, retried[0], io.EOF)
}

// TestEventsIteratorContext proves that the loop ends without an error when
// its context ends.
func TestEventsIteratorContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
	es := newES(t, srv, fastRetry())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := 0
	for _, err := range es.Events(ctx) {
		require.NoError(t, err)
		got++
		cancel()
	}
	assert.Equal(t, 1, got)
	for _, err := range es.Events(context.Background()) {
		assert.Error(t, err, "a second use yields the error of a second Run")
	}
}

// TestLogger proves that WithLogger records the life of the stream, and
// never a header value, a body or the URL's secrets.
func TestLogger(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("secret-event")}, est.Script{est.Status(http.StatusForbidden), est.Raw("secret-body\n")})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	es, err := eventsource.New(srv.URL+"/feed?token=secret-query",
		eventsource.WithHTTPClient(srv.Client()), fastRetry(), eventsource.WithLogger(logger),
		eventsource.WithHeader("Authorization", "Bearer secret-header"))
	require.NoError(t, err)
	var status *eventsource.StatusError
	require.ErrorAs(t, recv(t, run(t, es)), &status)

	out := logs.String()
	for _, msg := range []string{"msg=connecting", "msg=connected", "msg=reconnecting", `msg="stream ended for good"`} {
		assert.Contains(t, out, msg)
	}
	assert.NotContains(t, out, "secret")
}

// TestReconnect: Reconnect, from a callback or another goroutine, drops the
// connection; its cause reaches the retry policy and OnError; the backoff
// applies unless the cause wraps ErrRetryNow; events read but not yet
// dispatched are dropped, and the reconnection asks for them again with
// Last-Event-ID. A cause the policy does not retry ends Run with it.
func TestReconnect(t *testing.T) {
	t.Parallel()
	errServer := errors.New(`event: error, data: {"type":"overloaded"}`)
	tests := []struct {
		name    string
		cause   error
		waits   []time.Duration // the backoff waits, on a clock where each attempt lasts a second
		stopped bool            // the policy does not retry cause: Run returns it
	}{
		{"with the backoff", errServer, []time.Duration{3 * time.Second}, false},
		{"at once", fmt.Errorf("token refreshed: %w", eventsource.ErrRetryNow), nil, false},
		{"nil cause", nil, []time.Duration{3 * time.Second}, false},
		{"into a stop", errServer, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			events := []est.Event{{ID: "1", Data: "a"}, {ID: "2", Type: "error", Data: "overloaded"}, {ID: "3", Data: "b"}}
			srv := newServer(t, est.Script{est.AutoFlush(false), est.Feed(events, 0), est.Flush(), est.Stall()})
			clock := eventsource.NewFakeClock(true)
			var policy []error
			es := newES(t, srv, eventsource.WithClock(clock), zeroJitter, lastingAttempts(clock),
				eventsource.WithRetryPolicy(func(err error) bool {
					policy = append(policy, err)
					return !tc.stopped && eventsource.DefaultRetryPolicy(err)
				}))
			var got []string
			es.OnEvent(func(ev eventsource.Event) {
				if got = append(got, ev.ID); ev.ID == "3" {
					es.Close()
				}
			})
			es.AddEventListener("error", func(eventsource.Event) {
				if len(got) == 2 {
					es.Reconnect(tc.cause)
				}
			})
			var errs []error
			es.OnError(func(err error) { errs = append(errs, err) })
			err := recv(t, run(t, es))
			require.Len(t, errs, 1)
			require.Len(t, policy, 1)
			if tc.cause != nil {
				assert.ErrorIs(t, errs[0], tc.cause)
				assert.ErrorIs(t, policy[0], tc.cause)
			}
			if tc.stopped {
				require.ErrorIs(t, err, errServer)
				assert.Equal(t, []string{"1", "2"}, got, "event 3 was buffered, not dispatched")
				assert.Len(t, srv.Requests(), 1)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{"1", "2", "3"}, got, "event 3, read but not dispatched, comes once, after the reconnection")
			assert.Equal(t, tc.waits, clock.Durations())
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			assert.Equal(t, "2", reqs[1].LastEventID)
		})
	}
}

// TestReconnectFromAnotherGoroutine: Reconnect drops a connection that
// waits for bytes, and ends a backoff wait at once; before Run and after
// Close it does nothing.
func TestReconnectFromAnotherGoroutine(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("1"), est.Stall()}, est.Script{est.Status(http.StatusServiceUnavailable)}, est.Script{est.Data("3"), est.Stall()})
	clock := eventsource.NewFakeClock(false)
	es := newES(t, srv, eventsource.WithClock(clock), zeroJitter, lastingAttempts(clock))
	es.Reconnect(errors.New("before Run")) // no effect
	events := make(chan string, 4)
	errs := make(chan error, 4)
	es.OnEvent(func(ev eventsource.Event) { events <- ev.Data })
	es.OnError(func(err error) { errs <- err })
	done := run(t, es)
	assert.Equal(t, "1", recv(t, events))
	cause := errors.New("from another goroutine")
	es.Reconnect(cause)
	require.ErrorIs(t, recv(t, errs), cause)
	first := recv(t, clock.Timers())
	assert.Equal(t, 3*time.Second, first.D, "the backoff applies")
	require.True(t, first.Fire())
	// The reconnection gets a 503: its backoff wait ends with Reconnect.
	var se *eventsource.StatusError
	require.ErrorAs(t, recv(t, errs), &se)
	wait := recv(t, clock.Timers())
	assert.Equal(t, 6*time.Second, wait.D, "the second failure in a row")
	es.Reconnect(nil)
	assert.Equal(t, "3", recv(t, events))
	require.NoError(t, es.Close())
	require.NoError(t, recv(t, done))
	es.Reconnect(errors.New("after Close")) // no effect
	assert.Len(t, srv.Requests(), 3)
}

// TestReconnectIsAFailure: a connection that Reconnect dropped is not a
// success, whatever it delivered, so a server that sends a bad event every
// time meets WithMaxRetries; and its error names the request as the hook
// made it, not as the options did.
func TestReconnectIsAFailure(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("ok"), est.Data("bad"), est.Stall()})
	errBad := errors.New("bad event")
	es := newES(t, srv, fastRetry(), eventsource.WithMaxRetries(2), eventsource.WithMethod(http.MethodPost),
		eventsource.WithRequestHook(func(req *http.Request) error {
			req.Method, req.Body = http.MethodGet, nil
			req.URL.Path, req.URL.RawQuery = "/resume", "token=secret"
			return nil
		}))
	es.OnMessage(func(ev eventsource.Event) {
		if ev.Data == "bad" {
			es.Reconnect(errBad)
		}
	})
	var errs []error
	es.OnError(func(err error) { errs = append(errs, err) })
	err := recv(t, run(t, es))
	require.ErrorIs(t, err, errBad)
	assert.Contains(t, err.Error(), "giving up after 2 failed reconnections")
	assert.Len(t, errs, 3)
	assert.Len(t, srv.Requests(), 3)
	assert.Contains(t, errs[0].Error(), "GET "+srv.URL+"/resume: reconnect: bad event")
	assert.NotContains(t, errs[0].Error(), "secret")
}

package eventsource_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

// This file races Close, the end of the context, a second Run and a
// panicking callback against every point of an EventSource's life. The
// leak check of TestMain (goleak) covers every test; each test also checks
// that the server saw its connection go.

// TestStopAtEveryPoint stops an EventSource with Close, Close twice, Close
// from many goroutines at once, or the end of its context: before Run,
// while it dials (a handler that holds the headers; a listener that accepts
// and never answers), in the middle of the response headers, while it waits
// for the body, during a callback, during OnError, and during the backoff
// wait. Run must return promptly (nil after Close, ctx.Err() after the
// context), run no callback and make no request after that, and close the
// connection in flight.
func TestStopAtEveryPoint(t *testing.T) {
	t.Parallel()
	points := []string{
		"before Run",
		"dial: handler holds the headers",
		"dial: listener never answers",
		"in the response headers",
		"waiting for the body",
		"in a callback",
		"in OnError",
		"in the backoff wait",
	}
	stops := []string{"Close", "Close twice", "Close from 16 goroutines", "cancel"}
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
		url     string
		client  *http.Client
		srv     *est.Server
		gone    <-chan struct{}       // a connection closed, as the server saw it
		reached = make(chan struct{}) // Run is at the point
		release = make(chan struct{})
		clock   = eventsource.NewFakeClock(true)
	)
	switch point {
	case "before Run":
		srv, gone = watchedServer(t, est.Script{est.Data("1"), est.Stall()})
	case "dial: handler holds the headers":
		srv, gone = watchedServer(t, est.Script{est.Stall()})
	case "dial: listener never answers":
		url, client, gone = rawServer(t, "", reached)
	case "in the response headers":
		url, client, gone = rawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Con", reached)
	case "waiting for the body":
		srv, gone = watchedServer(t, est.Script{est.Flush(), est.Stall()})
	case "in a callback":
		srv, gone = watchedServer(t, est.Script{est.Data("1"), est.Data("2"), est.Stall()})
	case "in OnError":
		srv, gone = watchedServer(t, est.Script{est.Data("1"), est.Drop()}, est.Script{est.Data("2"), est.Stall()})
	case "in the backoff wait":
		srv, gone = watchedServer(t, est.Script{est.Status(503)}, est.Script{est.Data("2"), est.Stall()})
		clock = eventsource.NewFakeClock(false)
	}
	if srv != nil {
		url, client = srv.URL, srv.Client()
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
	es.OnMessage(func(ev eventsource.Event) { logf("message %s", ev.Data) })
	es.OnError(func(err error) {
		logf("error")
		if point == "in OnError" {
			close(reached)
			<-release
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
		recv(t, reached)
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
	}
	if stop != "cancel" {
		assert.Equal(t, eventsource.Closed, es.ReadyState(), "Closed at once")
	}
	close(release) // a callback under way may finish
	if point == "before Run" {
		done = runCtx(t, ctx, es)
	}
	err = recv(t, done)
	if stop == "cancel" {
		require.ErrorIs(t, err, context.Canceled)
	} else {
		require.NoError(t, err)
	}
	assert.Equal(t, eventsource.Closed, es.ReadyState())

	mu.Lock()
	after := append([]string(nil), log...)
	mu.Unlock()
	assert.Equal(t, before, after, "no callback after the stop; the one under way ends the dispatch")
	switch point {
	case "before Run":
		assert.Empty(t, srv.Requests(), "no request")
	case "in OnError", "in the backoff wait":
		assert.Len(t, srv.Requests(), 1, "no reconnection")
	case "waiting for the body", "in a callback", "dial: handler holds the headers":
		assert.Len(t, srv.Requests(), 1)
	}
	if point != "before Run" && point != "in the backoff wait" {
		recv(t, gone) // the connection in flight was closed
	}
}

// TestStop ends Run with Close, a cancelled context and a passed deadline,
// while it connects, while it waits to reconnect, and while it streams.
func TestStop(t *testing.T) {
	t.Parallel()
	for _, phase := range []string{"connecting", "waiting", "streaming"} {
		for _, how := range []string{"Close", "cancel", "deadline"} {
			t.Run(phase+"/"+how, func(t *testing.T) {
				t.Parallel()
				arrived := make(chan struct{}, 10)
				gone := make(chan struct{}, 10)
				srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
					arrived <- struct{}{}
					switch phase {
					case "waiting":
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					case "streaming":
						startStream(w)
						send(w, "data: 1\n\n")
					}
					<-r.Context().Done() // "connecting": before the headers
					gone <- struct{}{}
				})
				clock := eventsource.NewFakeClock(false) // the wait never ends
				es := newES(t, srv, eventsource.WithClock(clock))
				var onError atomic.Int32
				es.OnError(func(error) { onError.Add(1) })
				streaming := make(chan struct{}, 1)
				es.OnMessage(func(eventsource.Event) { streaming <- struct{}{} })
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				deadline := newDeadlineCtx()
				if how == "deadline" {
					ctx = deadline
				}
				done := runCtx(t, ctx, es)

				recv(t, arrived)
				wantOnError := int32(0)
				switch phase {
				case "waiting":
					wait := recv(t, clock.Timers())
					assert.Positive(t, wait.D)
					wantOnError = 1 // the 503, before the wait
				case "streaming":
					recv(t, streaming)
				}
				switch how {
				case "Close":
					require.NoError(t, es.Close())
					require.NoError(t, recv(t, done))
				case "cancel":
					cancel()
					require.ErrorIs(t, recv(t, done), context.Canceled)
				case "deadline":
					deadline.expire()
					require.ErrorIs(t, recv(t, done), context.DeadlineExceeded)
				}
				if phase != "waiting" {
					recv(t, gone) // the request in flight was cancelled
				}
				assert.Equal(t, wantOnError, onError.Load(), "OnError calls")
				assert.Equal(t, eventsource.Closed, es.ReadyState())
			})
		}
	}
}

// deadlineCtx is a context whose deadline passes when the test calls
// expire, so that a test reaches context.DeadlineExceeded at a chosen
// moment without waiting on the clock.
type deadlineCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newDeadlineCtx() *deadlineCtx {
	return &deadlineCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *deadlineCtx) Done() <-chan struct{} { return c.done }

func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (c *deadlineCtx) expire() { c.once.Do(func() { close(c.done) }) }

func TestCloseBeforeRun(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := newServer(t, func(http.ResponseWriter, *http.Request) { requests.Add(1) })
	es := newES(t, srv)
	require.NoError(t, es.Close())
	assert.Equal(t, eventsource.Closed, es.ReadyState())
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, int32(0), requests.Load())
}

func TestCloseConcurrent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		<-r.Context().Done()
	})
	es := newES(t, srv)
	opened := make(chan struct{}, 1)
	es.OnOpen(func() { opened <- struct{}{} })
	done := run(t, es)
	recv(t, opened)

	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- es.Close() }()
	}
	for range cap(errs) {
		require.NoError(t, recv(t, errs))
	}
	require.NoError(t, recv(t, done))
	require.NoError(t, es.Close())
	assert.Equal(t, eventsource.Closed, es.ReadyState())
}

// TestRunConcurrently calls Run from eight goroutines at once: one runs,
// the others get ErrRunTwice at once; a later Run does too. After Close
// before Run, one Run returns nil and the others ErrRunTwice.
func TestRunConcurrently(t *testing.T) {
	t.Parallel()
	for _, closeFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("Close first=%v", closeFirst), func(t *testing.T) {
			t.Parallel()
			srv, _ := watchedServer(t, est.Script{est.Data("1"), est.Stall()})
			es := faultES(t, srv)
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

func TestRunTwice(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		<-r.Context().Done()
	})
	es := newES(t, srv)
	opened := make(chan struct{}, 1)
	es.OnOpen(func() { opened <- struct{}{} })
	first := run(t, es)
	recv(t, opened)

	require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrRunTwice, "while the first Run runs")
	assert.Equal(t, eventsource.Open, es.ReadyState(), "the second Run does not disturb the first")
	require.NoError(t, es.Close())
	require.NoError(t, recv(t, first))
	require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrRunTwice, "after the first Run returned")
}

// TestPanicInCallback: a panic in a callback, a listener or the request
// hook reaches the caller of Run unchanged, and leaves nothing behind: the
// server sees the connection closed, ReadyState is Closed, no request
// follows, and the leak check passes.
func TestPanicInCallback(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"OnOpen", "OnComment", "OnEvent", "OnMessage", "listener", "OnError", "request hook", "retry policy"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			boom := "boom in " + where
			scripts := []est.Script{{est.Comment("c"), est.Data("1"), est.Stall()}}
			if where == "OnError" || where == "request hook" || where == "retry policy" {
				scripts = []est.Script{{est.Data("1"), est.Drop()}, {est.Data("2"), est.Stall()}}
			}
			srv, gone := watchedServer(t, scripts...)
			attempts := 0
			es := faultES(t, srv, fastRetry(),
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
	srv := faultServer(t)
	hooks := 0
	es := faultES(t, srv, eventsource.WithRequestHook(func(*http.Request) error {
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
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		startStream(w)
		if k == 1 {
			send(w, "id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: cut")
			return
		}
		send(w, "id: 3\ndata: c\n\nid: 4\ndata: d\n\n")
		<-r.Context().Done() // only the client's close ends this one
	})
	es := newES(t, srv, autoClock())
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
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			startStream(w)
			send(w, "data: only\n\n")
			return
		}
		http.Error(w, "gone", http.StatusGone)
	})
	es := newES(t, srv, autoClock())
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
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, "data: x\n\n")
		<-r.Context().Done()
	})
	es := newES(t, srv, autoClock())
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
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			startStream(w)
			send(w, "data: secret-event\n\n")
			return
		}
		http.Error(w, "secret-body", http.StatusForbidden)
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	es, err := eventsource.New(srv.URL+"/feed?token=secret-query",
		eventsource.WithHTTPClient(srv.Client()), autoClock(), eventsource.WithLogger(logger),
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

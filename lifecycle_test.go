package eventsource_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
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

// rawServer listens on loopback and answers each connection by reading the
// request head, closing reached, writing reply, and then nothing: with
// reply "" it never answers; with part of a response head it stops in the
// middle of the headers. gone receives when the client closes a connection.
// It returns the URL and a client whose connections close at the end of the
// test.
func rawServer(t *testing.T, reply string, reached chan<- struct{}) (url string, client *http.Client, gone <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	var once sync.Once
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() {
				defer func() { closed <- struct{}{} }()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.TrimRight(line, "\r\n") == "" {
						break
					}
				}
				once.Do(func() { close(reached) })
				if _, err := conn.Write([]byte(reply)); err != nil {
					return
				}
				_, _ = r.ReadByte() // until the client closes the connection
			})
		}
	})
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String() + "/", &http.Client{Transport: tr}, closed
}

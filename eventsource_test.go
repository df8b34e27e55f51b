package eventsource_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-eventsource/eventsource"
	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts a loopback server that h answers, closed at the end of
// the test.
func newServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// startStream answers 200 text/event-stream and sends the headers.
func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

// send writes s to the stream and flushes it.
func send(w http.ResponseWriter, s string) {
	_, _ = io.WriteString(w, s)
	w.(http.Flusher).Flush()
}

// newES returns an EventSource for srv, using srv's own client, so that
// srv.Close also closes the client's idle connections.
func newES(t *testing.T, srv *httptest.Server, opts ...eventsource.Option) *eventsource.EventSource {
	t.Helper()
	opts = append([]eventsource.Option{eventsource.WithHTTPClient(srv.Client())}, opts...)
	es, err := eventsource.New(srv.URL, opts...)
	require.NoError(t, err)
	return es
}

// run runs es.Run in a goroutine and returns a channel with its result. At
// the end of the test, es is closed and Run must have returned.
func run(t *testing.T, es *eventsource.EventSource) <-chan error {
	t.Helper()
	return runCtx(t, context.Background(), es)
}

func runCtx(t *testing.T, ctx context.Context, es *eventsource.EventSource) <-chan error {
	t.Helper()
	result := make(chan error, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		result <- es.Run(ctx)
	}()
	t.Cleanup(func() {
		es.Close()
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return result
}

// recv returns the next value of ch, and fails the test after 5 s.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	return recvWithin(t, ch, 5*time.Second)
}

// recvWithin is recv for a test that does much more work than most, such
// as hundreds of reconnections, and may share the CPU with the others.
func recvWithin[T any](t testing.TB, ch <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatal("timed out waiting on a channel")
	}
	var zero T
	return zero
}

// zeroJitter makes the reconnection delays exact.
var zeroJitter = eventsource.WithJitter(noJitter)

// autoClock is a clock whose reconnection waits pass at once.
func autoClock() eventsource.Option { return eventsource.WithClock(eventsource.NewFakeClock(true)) }

// onRunGoroutine reports whether its caller runs on a goroutine whose stack
// passes through EventSource.Run.
func onRunGoroutine() bool {
	pcs := make([]uintptr, 100)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".(*EventSource).Run") {
			return true
		}
		if !more {
			return false
		}
	}
}

// A request is what a handler saw of one request.
type request struct {
	method string
	header http.Header
	body   string
}

func record(r *http.Request) request {
	body, _ := io.ReadAll(r.Body)
	return request{r.Method, r.Header.Clone(), string(body)}
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

func TestHandlersChangeWhileRunning(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		for i := 1; ; i++ {
			select {
			case <-stop:
				send(w, "event: last\ndata: end\n\n")
				<-r.Context().Done()
				return
			case <-r.Context().Done():
				return
			default:
				send(w, fmt.Sprintf("id: %d\ndata: %d\n\n", i, i))
			}
		}
	})
	es := newES(t, srv)
	var got []string // written by Run's goroutine only
	first := make(chan struct{})
	es.AddEventListener("message", func(ev eventsource.Event) {
		if got = append(got, ev.Data); len(got) == 1 {
			close(first)
		}
	})
	es.AddEventListener("last", func(eventsource.Event) { es.Close() })
	done := run(t, es)

	recv(t, first)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 300 {
				remove := es.AddEventListener("message", func(eventsource.Event) {})
				other := es.AddEventListener("other", func(eventsource.Event) {})
				es.OnOpen(func() {})
				es.OnEvent(func(eventsource.Event) {})
				es.OnMessage(func(eventsource.Event) {})
				es.OnComment(func(string) {})
				es.OnError(func(error) {})
				remove()
				other()
				remove()
				es.OnEvent(nil)
				es.OnMessage(nil)
			}
		})
	}
	wg.Wait()
	close(stop)
	require.NoError(t, recv(t, done))

	require.NotEmpty(t, got)
	for i, data := range got {
		require.Equal(t, strconv.Itoa(i+1), data, "events must arrive once each, in order")
	}
}

func TestListenersChangedFromInsideCallbacks(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, "data: 1\n\ndata: 2\n\ndata: 3\n\n")
		<-r.Context().Done()
	})
	es := newES(t, srv)
	var self, all, added, firstOnMessage, secondOnMessage []string
	var remove func()
	remove = es.AddEventListener("message", func(ev eventsource.Event) {
		self = append(self, ev.Data)
		remove()
		remove() // idempotent
	})
	es.AddEventListener("message", func(ev eventsource.Event) {
		all = append(all, ev.Data)
		switch ev.Data {
		case "1":
			es.AddEventListener("message", func(ev eventsource.Event) { added = append(added, ev.Data) })
		case "3":
			es.Close()
		}
	})
	es.OnMessage(func(ev eventsource.Event) {
		firstOnMessage = append(firstOnMessage, ev.Data)
		es.OnMessage(func(ev eventsource.Event) { secondOnMessage = append(secondOnMessage, ev.Data) })
	})
	require.NoError(t, recv(t, run(t, es)))
	remove() // after Run, still harmless

	assert.Equal(t, []string{"1"}, self)
	assert.Equal(t, []string{"1", "2", "3"}, all)
	assert.Equal(t, []string{"2"}, added, "a listener added during event 1 gets the later events (Close came before its turn on 3)")
	assert.Equal(t, []string{"1"}, firstOnMessage)
	assert.Equal(t, []string{"2", "3"}, secondOnMessage)
}

func TestCallbackOrder(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		first := requests.Add(1) == 1
		startStream(w)
		if first {
			send(w, "data: m1\n\nevent: a\ndata: a1\n\nevent: b\ndata: b1\n\n")
			return
		}
		send(w, "data: m2\n\n")
		<-r.Context().Done()
	})
	es := newES(t, srv, autoClock())
	var log []string
	var inCallback atomic.Bool
	// callback records one call, and checks that it runs alone, on Run's
	// goroutine.
	callback := func(entry string) {
		if !inCallback.CompareAndSwap(false, true) {
			t.Errorf("%s: another callback is running", entry)
		}
		defer inCallback.Store(false)
		assert.True(t, onRunGoroutine(), "%s: not on Run's goroutine", entry)
		log = append(log, entry)
	}
	event := func(name string) func(eventsource.Event) {
		return func(ev eventsource.Event) {
			assert.Equal(t, eventsource.Open, es.ReadyState(), name)
			callback(name + ":" + ev.Data)
		}
	}
	es.OnOpen(func() {
		assert.Equal(t, eventsource.Open, es.ReadyState(), "OnOpen")
		callback("open")
	})
	es.OnEvent(event("event"))
	es.OnMessage(event("message"))
	es.OnError(func(err error) {
		assert.ErrorIs(t, err, io.EOF)
		callback("error:" + es.ReadyState().String())
	})
	es.AddEventListener("a", event("a-first"))
	es.AddEventListener("message", func(ev eventsource.Event) {
		event("m-listener")(ev)
		if ev.Data == "m2" {
			es.Close()
		}
	})
	es.AddEventListener("a", event("a-second"))
	es.AddEventListener("b", event("b"))

	assert.Equal(t, eventsource.Connecting, es.ReadyState())
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, eventsource.Closed, es.ReadyState())
	assert.Equal(t, []string{
		"open",
		"event:m1", "message:m1", "m-listener:m1",
		"event:a1", "a-first:a1", "a-second:a1",
		"event:b1", "b:b1",
		"error:Connecting",
		"open",
		"event:m2", "message:m2", "m-listener:m2",
	}, log)
}

func TestRequestHeadersAndBody(t *testing.T) {
	t.Parallel()
	requests := make(chan request, 10)
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests <- record(r)
		k := n.Add(1)
		startStream(w)
		switch k {
		case 1:
			send(w, "id: 1\ndata: a\n\n")
		case 2:
			send(w, "id:\ndata: b\n\n") // an empty id resets the last event ID
		default:
			send(w, "data: c\n\n")
			<-r.Context().Done()
		}
	})
	es := newES(t, srv, autoClock(),
		eventsource.WithMethod(http.MethodPost),
		eventsource.WithBody([]byte(`{"q":1}`)),
		eventsource.WithHeader("Content-Type", "application/json"),
		eventsource.WithHeader("X-Custom", "v"),
	)
	var events []eventsource.Event
	es.OnMessage(func(ev eventsource.Event) {
		if events = append(events, ev); ev.Data == "c" {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))

	assert.Equal(t, []eventsource.Event{
		{Type: "message", Data: "a", ID: "1"},
		{Type: "message", Data: "b", ID: ""},
		{Type: "message", Data: "c", ID: ""},
	}, events)
	wantLastEventID := [][]string{nil, {"1"}, nil}
	for i, want := range wantLastEventID {
		req := recv(t, requests)
		assert.Equal(t, http.MethodPost, req.method, "request %d", i+1)
		assert.Equal(t, `{"q":1}`, req.body, "request %d", i+1)
		assert.Equal(t, []string{"text/event-stream"}, req.header.Values("Accept"), "request %d", i+1)
		assert.Equal(t, []string{"no-cache"}, req.header.Values("Cache-Control"), "request %d", i+1)
		assert.Equal(t, []string{"application/json"}, req.header.Values("Content-Type"), "request %d", i+1)
		assert.Equal(t, []string{"v"}, req.header.Values("X-Custom"), "request %d", i+1)
		assert.Equal(t, want, req.header.Values("Last-Event-ID"), "request %d", i+1)
	}
}

func TestLastEventID(t *testing.T) {
	t.Parallel()
	lastIDs := make(chan string, 10)
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		lastIDs <- r.Header.Get("Last-Event-ID")
		k := n.Add(1)
		startStream(w)
		switch k {
		case 1:
			send(w, "data: a\n\n")
		case 2:
			send(w, "id: 42\ndata: b\n\n")
		default:
			send(w, "data: c\n\n") // no id after a reconnection: the stored one stays
			<-r.Context().Done()
		}
	})
	es := newES(t, srv, autoClock(), eventsource.WithLastEventID("41"))
	assert.Equal(t, "41", es.LastEventID())
	var events []eventsource.Event
	es.OnMessage(func(ev eventsource.Event) {
		if events = append(events, ev); ev.Data == "c" {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))

	assert.Equal(t, []eventsource.Event{
		{Type: "message", Data: "a", ID: "41"},
		{Type: "message", Data: "b", ID: "42"},
		{Type: "message", Data: "c", ID: "42"},
	}, events)
	assert.Equal(t, "42", es.LastEventID())
	assert.Equal(t, "41", recv(t, lastIDs))
	assert.Equal(t, "41", recv(t, lastIDs))
	assert.Equal(t, "42", recv(t, lastIDs))
}

// TestNoEventLostOrDuplicated drops the connection in three ways, each in
// the middle of an event, and checks that the client gets every complete
// event once, and never the cut one.
func TestNoEventLostOrDuplicated(t *testing.T) {
	t.Parallel()
	const total = 12
	lastIDs := make(chan string, 10)
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		lastID := r.Header.Get("Last-Event-ID")
		lastIDs <- lastID
		next, _ := strconv.Atoi(lastID)
		var b strings.Builder
		for i := next + 1; i <= min(next+3, total); i++ {
			fmt.Fprintf(&b, "id: %d\ndata: %d\n\n", i, i)
		}
		cut := "id: 99\ndata: cut"
		switch n.Add(1) {
		case 1: // the handler returns: a clean end of stream
			startStream(w)
			send(w, b.String()+cut)
		case 2: // the test calls CloseClientConnections
			startStream(w)
			send(w, b.String()+cut)
			<-r.Context().Done()
		case 3: // the connection breaks inside a chunk
			conn, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			chunk := b.String() + cut
			fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(chunk), chunk)
			_ = rw.Flush()
		default:
			startStream(w)
			send(w, b.String())
			<-r.Context().Done()
		}
	})
	es := newES(t, srv, autoClock())
	got := make(chan eventsource.Event, 2*total)
	es.OnEvent(func(ev eventsource.Event) {
		if got <- ev; ev.Data == strconv.Itoa(total) {
			es.Close()
		}
	})
	var drops atomic.Int32
	es.OnError(func(error) { drops.Add(1) })
	done := run(t, es)

	for i := 1; i <= total; i++ {
		ev := recv(t, got)
		require.Equal(t, eventsource.Event{Type: "message", Data: strconv.Itoa(i), ID: strconv.Itoa(i)}, ev)
		if i == 6 {
			srv.CloseClientConnections()
		}
	}
	require.NoError(t, recv(t, done))
	assert.Empty(t, got, "no event after the last")
	assert.Equal(t, int32(3), drops.Load())
	for _, want := range []string{"", "3", "6", "9"} {
		assert.Equal(t, want, recv(t, lastIDs))
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

// TestCloseFromCallback checks that a callback that calls Close is the last
// callback to run.
func TestCloseFromCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		closer string
		want   []string
	}{
		{"open", []string{"open"}},
		{"comment", []string{"open", "comment:c1"}},
		{"event", []string{"open", "comment:c1", "comment:c2", "event:1"}},
		{"message", []string{"open", "comment:c1", "comment:c2", "event:1", "message:1"}},
		{"listener", []string{"open", "comment:c1", "comment:c2", "event:1", "message:1", "listener:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.closer, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				send(w, ": c1\n: c2\n\ndata: 1\n\ndata: 2\n\n")
				<-r.Context().Done()
			})
			es := newES(t, srv)
			var log []string
			callback := func(name, arg string) {
				if arg != "" {
					log = append(log, name+":"+arg)
				} else {
					log = append(log, name)
				}
				if name == tc.closer {
					es.Close()
					assert.Equal(t, eventsource.Closed, es.ReadyState())
				}
			}
			es.OnOpen(func() { callback("open", "") })
			es.OnComment(func(c string) { callback("comment", c) })
			es.OnEvent(func(ev eventsource.Event) { callback("event", ev.Data) })
			es.OnMessage(func(ev eventsource.Event) { callback("message", ev.Data) })
			es.AddEventListener("message", func(ev eventsource.Event) { callback("listener", ev.Data) })
			es.OnError(func(err error) { callback("error", err.Error()) })
			require.NoError(t, recv(t, run(t, es)))
			assert.Equal(t, tc.want, log)
		})
	}
}

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

// TestIdleTimeout fires the idle timer of a connection that sent nothing
// after its headers, and of one that sent a comment, and checks that the
// client reports ErrIdleTimeout and reconnects.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	for _, comment := range []bool{false, true} {
		t.Run(fmt.Sprintf("comment=%v", comment), func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int32
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				first := requests.Add(1) == 1
				startStream(w)
				if first {
					if comment {
						send(w, ": hi\n\n")
					}
				} else {
					send(w, "data: back\n\n")
				}
				<-r.Context().Done()
			})
			clock := eventsource.NewFakeClock(false)
			es := newES(t, srv, eventsource.WithClock(clock), zeroJitter,
				eventsource.WithIdleTimeout(10*time.Second), eventsource.WithRetry(time.Second))
			opened := make(chan struct{}, 10)
			es.OnOpen(func() { opened <- struct{}{} })
			comments := make(chan string, 10)
			es.OnComment(func(c string) { comments <- c })
			errs := make(chan error, 10)
			es.OnError(func(err error) {
				assert.Equal(t, eventsource.Connecting, es.ReadyState())
				errs <- err
			})
			messages := make(chan string, 10)
			es.OnMessage(func(ev eventsource.Event) { messages <- ev.Data })
			done := run(t, es)

			idle := recv(t, clock.Timers())
			assert.Equal(t, 10*time.Second, idle.D)
			recv(t, opened)
			if comment {
				assert.Equal(t, "hi", recv(t, comments))
				assert.Positive(t, idle.Resets(), "the comment's bytes reset the idle timer")
			}
			require.True(t, idle.Fire(), "the idle timer still runs")
			require.ErrorIs(t, recv(t, errs), eventsource.ErrIdleTimeout)

			wait := recv(t, clock.Timers())
			assert.Equal(t, time.Second, wait.D)
			require.True(t, wait.Fire())
			assert.Equal(t, 10*time.Second, recv(t, clock.Timers()).D, "the new connection has its own idle timer")
			assert.Equal(t, "back", recv(t, messages))
			require.NoError(t, es.Close())
			require.NoError(t, recv(t, done))
			assert.Equal(t, int32(2), requests.Load())
		})
	}
}

// TestIdleTimeoutResponseHead: until the response head is complete, the
// idle timeout bounds the whole wait: head bytes that trickle in do not
// restart it, and it cuts the attempt. Once the head is complete, the timer
// restarts.
func TestIdleTimeoutResponseHead(t *testing.T) {
	t.Parallel()
	t.Run("a partial head does not restart it", func(t *testing.T) {
		t.Parallel()
		reached := make(chan struct{})
		url, client, _ := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Con", reached)
		clock := eventsource.NewFakeClock(false)
		es, err := eventsource.New(url, eventsource.WithHTTPClient(client), eventsource.WithClock(clock),
			eventsource.WithIdleTimeout(10*time.Second), eventsource.WithMaxRetries(0))
		require.NoError(t, err)
		done := run(t, es)
		idle := recv(t, clock.Timers())
		recv(t, reached)
		require.True(t, idle.Fire())
		require.ErrorIs(t, recv(t, done), eventsource.ErrIdleTimeout)
		assert.Zero(t, idle.Resets(), "head bytes do not restart the timer")
	})
	t.Run("a complete head restarts it", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			<-r.Context().Done()
		})
		clock := eventsource.NewFakeClock(false)
		es := newES(t, srv, eventsource.WithClock(clock), eventsource.WithIdleTimeout(10*time.Second))
		opened := make(chan struct{}, 1)
		es.OnOpen(func() { opened <- struct{}{} })
		run(t, es)
		idle := recv(t, clock.Timers())
		recv(t, opened)
		assert.Positive(t, idle.Resets(), "the head is complete: the idle timer restarts")
	})
}

// TestIdleTimeoutDuringCallback: an idle timeout that passes while a
// callback runs does not cut the event that was already read whole, and
// reaches OnError as ErrIdleTimeout.
func TestIdleTimeoutDuringCallback(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, "data: x\n\n")
		<-r.Context().Done()
	})
	clock := eventsource.NewFakeClock(false)
	es := newES(t, srv, eventsource.WithClock(clock), eventsource.WithIdleTimeout(10*time.Second))
	es.OnEvent(func(eventsource.Event) {
		select {
		case idle := <-clock.Timers():
			idle.Fire() // the idle timeout passes while this callback runs
		default:
			t.Error("no idle timer")
		}
	})
	var messages []string
	es.OnMessage(func(ev eventsource.Event) { messages = append(messages, ev.Data) })
	var errs []error
	es.OnError(func(err error) {
		errs = append(errs, err)
		es.Close()
	})
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, []string{"x"}, messages, "the event is delivered whole")
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], eventsource.ErrIdleTimeout)
}

// redirectServers starts two servers on different ports (two origins) that
// redirect between them and stream from /stream, sending the headers each
// /stream request carried on the returned channel.
//
//	/same    -> /stream on the same server
//	/cross   -> b's /stream (a only)
//	/bounce  -> b's /bounce -> a's /stream (a only)
//	/loop    -> /loop
func redirectServers(t *testing.T) (a, b *httptest.Server, streams <-chan http.Header) {
	t.Helper()
	seen := make(chan http.Header, 10)
	common := func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			seen <- r.Header.Clone()
			startStream(w)
			send(w, "data: ok\n\n")
			<-r.Context().Done()
		case "/same":
			http.Redirect(w, r, "/stream", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}
	b = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bounce" {
			http.Redirect(w, r, "http://"+r.URL.Query().Get("back")+"/stream", http.StatusTemporaryRedirect)
			return
		}
		common(w, r)
	})
	a = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cross":
			http.Redirect(w, r, b.URL+"/stream", http.StatusFound)
		case "/bounce":
			http.Redirect(w, r, b.URL+"/bounce?back="+r.Host, http.StatusFound)
		default:
			common(w, r)
		}
	})
	return a, b, seen
}

func TestRedirectHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path       string
		keepCustom bool
	}{
		{"/same", true},
		{"/cross", false},
		{"/bounce", false}, // back at the first origin: not restored
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			a, _, streams := redirectServers(t)
			es, err := eventsource.New(a.URL+tc.path,
				eventsource.WithHTTPClient(a.Client()),
				eventsource.WithLastEventID("7"),
				eventsource.WithHeader("X-Custom", "custom"),
				eventsource.WithHeader("Authorization", "Bearer token"),
				eventsource.WithHeader("Cookie", "session=1"),
				eventsource.WithRequestHook(func(req *http.Request) error {
					req.Header.Set("X-Hook", "hook")
					return nil
				}),
			)
			require.NoError(t, err)
			es.OnMessage(func(eventsource.Event) { es.Close() })
			require.NoError(t, recv(t, run(t, es)))

			h := recv(t, streams)
			assert.Equal(t, "text/event-stream", h.Get("Accept"))
			assert.Equal(t, "no-cache", h.Get("Cache-Control"))
			assert.Equal(t, "7", h.Get("Last-Event-ID"))
			custom := map[string]string{"X-Custom": "custom", "Authorization": "Bearer token", "Cookie": "session=1", "X-Hook": "hook"}
			for key, value := range custom {
				if tc.keepCustom {
					assert.Equal(t, value, h.Get(key), key)
				} else {
					assert.Empty(t, h.Values(key), key)
				}
			}
		})
	}
}

func TestRedirectLoop(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	es, err := eventsource.New(srv.URL+"/loop", eventsource.WithHTTPClient(srv.Client()), autoClock())
	require.NoError(t, err)
	var errs []error
	es.OnError(func(err error) {
		assert.Equal(t, eventsource.Closed, es.ReadyState())
		errs = append(errs, err)
	})
	require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrTooManyRedirects)
	assert.Len(t, errs, 1)
	assert.Equal(t, int32(10), requests.Load(), "10 hops, and no retry")
}

func TestRedirectLeavesCallerClientAlone(t *testing.T) {
	t.Parallel()
	t.Run("no CheckRedirect", func(t *testing.T) {
		t.Parallel()
		a, _, streams := redirectServers(t)
		client := &http.Client{Transport: a.Client().Transport}
		es, err := eventsource.New(a.URL+"/cross", eventsource.WithHTTPClient(client))
		require.NoError(t, err)
		es.OnMessage(func(eventsource.Event) { es.Close() })
		require.NoError(t, recv(t, run(t, es)))
		recv(t, streams)
		assert.Nil(t, client.CheckRedirect)
	})
	t.Run("own CheckRedirect", func(t *testing.T) {
		t.Parallel()
		a, _, streams := redirectServers(t)
		var calls atomic.Int32
		own := func(req *http.Request, via []*http.Request) error {
			calls.Add(1)
			assert.Empty(t, req.Header.Values("X-Custom"), "ours ran first and dropped the custom header")
			return nil
		}
		client := &http.Client{Transport: a.Client().Transport, CheckRedirect: own}
		es, err := eventsource.New(a.URL+"/cross", eventsource.WithHTTPClient(client),
			eventsource.WithHeader("X-Custom", "custom"))
		require.NoError(t, err)
		es.OnMessage(func(eventsource.Event) { es.Close() })
		require.NoError(t, recv(t, run(t, es)))
		recv(t, streams)
		assert.Equal(t, int32(1), calls.Load(), "the caller's CheckRedirect still runs")
		assert.Equal(t, reflect.ValueOf(own).Pointer(), reflect.ValueOf(client.CheckRedirect).Pointer())
	})
}

func TestRequestHook(t *testing.T) {
	t.Parallel()
	hookErr := errors.New("token source down")
	for _, failAt := range []int{1, 3} {
		t.Run(fmt.Sprintf("fails at attempt %d", failAt), func(t *testing.T) {
			t.Parallel()
			tokens := make(chan string, 10)
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				tokens <- r.Header.Get("Authorization")
				startStream(w)
				send(w, "data: x\n\n") // then a clean end: reconnect
			})
			attempts := 0
			es := newES(t, srv, autoClock(),
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
			close(tokens)
			var got []string
			for tok := range tokens {
				got = append(got, tok)
			}
			var want []string
			for i := 1; i < failAt; i++ {
				want = append(want, fmt.Sprintf("Bearer token-%d", i))
			}
			assert.Equal(t, want, got, "only the attempts before the failure were made")
		})
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	const good = "http://127.0.0.1:1/events"
	tests := []struct {
		name string
		url  string
		opt  eventsource.Option
	}{
		{"bad URL", "http://[::1", eventsource.Option{}},
		{"ftp scheme", "ftp://example.com/events", eventsource.Option{}},
		{"no scheme", "example.com/events", eventsource.Option{}},
		{"no host", "http:///events", eventsource.Option{}},
		{"WithRetry(-1)", good, eventsource.WithRetry(-1)},
		{"WithMaxEventSize(-1)", good, eventsource.WithMaxEventSize(-1)},
		{"WithMaxRetryDelay(-1)", good, eventsource.WithMaxRetryDelay(-1)},
		{"WithMaxRetryAfter(-1)", good, eventsource.WithMaxRetryAfter(-1)},
		{"WithIdleTimeout(-1)", good, eventsource.WithIdleTimeout(-1)},
		{"header name with a space", good, eventsource.WithHeader("Bad Name", "v")},
		{"header name with a colon", good, eventsource.WithHeader("X:Y", "v")},
		{"empty header name", good, eventsource.WithHeader("", "v")},
		{"header value with CRLF", good, eventsource.WithHeader("X-A", "a\r\nX-B: b")},
		{"bad method", good, eventsource.WithMethod("GE T")},
		{"client with a Timeout", good, eventsource.WithHTTPClient(&http.Client{Timeout: time.Second})},
		{"WithLastEventID with LF", good, eventsource.WithLastEventID("1\n2")},
		{"Last-Event-ID by WithHeader", good, eventsource.WithHeader("last-event-id", "7")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			es, err := eventsource.New(tc.url, tc.opt)
			require.Error(t, err)
			assert.Nil(t, es)
		})
	}
	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		const u = "https://example.com:8443/events?topic=a"
		es, err := eventsource.New(u, eventsource.WithRetry(0), eventsource.WithMaxRetries(0), eventsource.WithIdleTimeout(0))
		require.NoError(t, err)
		assert.Equal(t, u, es.URL())
		assert.Equal(t, eventsource.Connecting, es.ReadyState())
	})
}

// TestOptionZeroMeansDefault: a nil or zero argument means the default,
// also after an earlier option set something else: the method is GET, the
// client http.DefaultClient, the event size 16 MiB, the backoff cap 30s
// and the Retry-After cap an hour.
func TestOptionZeroMeansDefault(t *testing.T) {
	t.Parallel()
	srv := faultServer(t,
		est.Script{est.Status(http.StatusServiceUnavailable, "Retry-After", "7200")},
		est.Script{est.Status(http.StatusServiceUnavailable)},
		est.Script{est.Data(strings.Repeat("x", 100)), est.Stall()})
	clock := eventsource.NewFakeClock(true)
	failing := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("not this client")
	})}
	es, err := eventsource.New(srv.URL, eventsource.WithClock(clock), zeroJitter, lastingAttempts(clock),
		eventsource.WithRetry(20*time.Second),
		eventsource.WithMethod(http.MethodPost), eventsource.WithMethod(""),
		eventsource.WithHTTPClient(failing), eventsource.WithHTTPClient(nil),
		eventsource.WithMaxEventSize(10), eventsource.WithMaxEventSize(0),
		eventsource.WithMaxRetryDelay(time.Millisecond), eventsource.WithMaxRetryDelay(0),
		eventsource.WithMaxRetryAfter(time.Second), eventsource.WithMaxRetryAfter(0),
		eventsource.Option{})
	require.NoError(t, err)
	es.OnEvent(func(eventsource.Event) { es.Close() })
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, []time.Duration{time.Hour, 30 * time.Second}, clock.Durations())
	for _, req := range srv.Requests() {
		assert.Equal(t, http.MethodGet, req.Method)
	}
}

// TestNewErrorHidesSecrets: an invalid URL's error does not repeat its
// password or query, as the errors of Run do not.
func TestNewErrorHidesSecrets(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"http://user:secret@example.com/%zz",
		"http://example.com/%zz?token=secret",
		"ftp://user:secret@example.com/?token=secret",
	} {
		_, err := eventsource.New(u)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "secret", u)
	}
}

func TestMaxEventSize(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		startStream(w)
		send(w, "data: small\n\ndata: "+strings.Repeat("x", 2048)+"\n\n")
		<-r.Context().Done()
	})
	es := newES(t, srv, autoClock(), eventsource.WithMaxEventSize(1024))
	var messages []string
	es.OnMessage(func(ev eventsource.Event) { messages = append(messages, ev.Data) })
	var errs []error
	es.OnError(func(err error) {
		assert.Equal(t, eventsource.Closed, es.ReadyState())
		errs = append(errs, err)
	})
	require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrEventTooLarge)
	assert.Equal(t, []string{"small"}, messages)
	require.Len(t, errs, 1)
	require.ErrorIs(t, errs[0], eventsource.ErrEventTooLarge)
	assert.Equal(t, int32(1), requests.Load(), "not retried")
}

func TestOnComment(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, ": heartbeat\n\n:no-space\n:  two spaces\n:\n\ndata: x\n\n")
		<-r.Context().Done()
	})
	es := newES(t, srv)
	var comments []string
	es.OnComment(func(c string) { comments = append(comments, c) })
	es.OnMessage(func(eventsource.Event) { es.Close() })
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, []string{"heartbeat", "no-space", " two spaces", ""}, comments)
}

func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, "event: t\xffype\ndata: ok\xe2\x80\xa6 \xff \xe2\x82A\n\n")
		<-r.Context().Done()
	})
	es := newES(t, srv)
	var got eventsource.Event
	es.OnEvent(func(ev eventsource.Event) {
		got = ev
		es.Close()
	})
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, eventsource.Event{Type: "t\uFFFDype", Data: "ok… \uFFFD \uFFFDA"}, got)
}

// TestErrorsHideSecrets: no error of Run or OnError repeats a header value,
// or the password or query of the URL.
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string
		handler http.HandlerFunc
	}{
		{"status", "/", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}},
		{"end of stream", "/", func(w http.ResponseWriter, r *http.Request) {
			startStream(w)
			send(w, ": no event, so each end is a failure in a row\n\n")
		}},
		{"content type", "/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
		}},
		{"redirect loop", "/loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		}},
		{"connection closed", "/", func(w http.ResponseWriter, r *http.Request) {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close() // a network error, before any response
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.handler)
			u := strings.Replace(srv.URL, "http://", "http://user:secret@", 1) + tc.path + "?token=secret"
			es, err := eventsource.New(u, autoClock(), eventsource.WithMaxRetries(1),
				eventsource.WithHeader("Authorization", "Bearer secret"),
				eventsource.WithHeader("X-Api-Key", "secret"))
			require.NoError(t, err)
			var errs []error
			es.OnError(func(err error) { errs = append(errs, err) })
			err = recv(t, run(t, es))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "secret")
			require.NotEmpty(t, errs)
			for _, err := range errs {
				assert.NotContains(t, err.Error(), "secret")
			}
		})
	}
}

// TestCookieJarRotation: with a cookie jar, each request carries exactly
// the jar's current cookies, over 100 reconnections in which the server
// rotates its session cookie: none piles up.
func TestCookieJarRotation(t *testing.T) {
	t.Parallel()
	const reconnections = 100
	var served atomic.Int32
	srv := faultServer(t, est.Script{est.Func(func(est.Request) est.Script {
		n := served.Add(1)
		return est.Script{est.Status(http.StatusOK, "Set-Cookie", fmt.Sprintf("sess=v%d-%s; Path=/", n, strings.Repeat("c", 120))), est.Data("x")}
	})})
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := srv.Client()
	client.Jar = jar
	es := faultES(t, srv, eventsource.WithHTTPClient(client), fastRetry())
	es.OnEvent(func(eventsource.Event) {
		if served.Load() > reconnections {
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

// TestRemovedListenerNotCalled: once remove returns, on another goroutine,
// the listener is not called again, not even for an event whose dispatch
// had already begun: OnEvent, which runs first for each event, tells which
// event was being dispatched when remove returned.
func TestRemovedListenerNotCalled(t *testing.T) {
	t.Parallel()
	const listeners, events = 32, 20000
	srv := faultServer(t, est.Script{est.AutoFlush(false), est.Repeat(events, est.Data("x")), est.Flush(), est.Stall()})
	es := faultES(t, srv)
	var dispatching atomic.Int64 // the number of the event being dispatched
	es.OnEvent(func(eventsource.Event) {
		if dispatching.Add(1) == events {
			es.Close()
		}
	})
	last := make([]int64, listeners) // the last event each listener got; written on Run's goroutine
	removes := make([]func(), listeners)
	for i := range listeners {
		removes[i] = es.AddEventListener("message", func(eventsource.Event) { last[i] = dispatching.Load() })
	}
	removedAt := make([]int64, listeners) // the event under way when remove returned
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range listeners {
			for dispatching.Load() < int64(i+1)*events/(listeners+1) {
				runtime.Gosched()
			}
			removes[i]()
			removedAt[i] = dispatching.Load()
		}
	})
	require.NoError(t, recv(t, run(t, es)))
	wg.Wait()
	for i := range listeners {
		assert.LessOrEqual(t, last[i], removedAt[i], "listener %d called after remove returned", i)
	}
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

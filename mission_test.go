package eventsource_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

// TestResponseHook: every response reaches the hook, whatever its status,
// before OnOpen and its events; the hook may read the body of an error,
// whose rest goes to StatusError.Body; an error from the hook rejects the
// response and goes through the retry policy and OnError.
func TestResponseHook(t *testing.T) {
	t.Parallel()
	srv := faultServer(t,
		est.Script{est.Status(http.StatusServiceUnavailable, "X-Request-Id", "r1"), est.Raw("busy: try later")},
		est.Script{est.Status(http.StatusOK, "Mcp-Session-Id", "s2"), est.Data("rejected")},
		est.Script{est.Status(http.StatusOK, "Mcp-Session-Id", "s3"), est.Data("1"), est.Stall()})
	var log []string // written on Run's goroutine
	errReject := errors.New("session rejected")
	es := faultES(t, srv, fastRetry(), eventsource.WithResponseHook(func(resp *http.Response) error {
		log = append(log, fmt.Sprintf("response %d %s%s", resp.StatusCode, resp.Header.Get("X-Request-Id"), resp.Header.Get("Mcp-Session-Id")))
		if resp.StatusCode != http.StatusOK {
			head := make([]byte, 6)
			_, err := io.ReadFull(resp.Body, head)
			require.NoError(t, err)
			log = append(log, "read "+string(head))
		}
		if resp.Header.Get("Mcp-Session-Id") == "s2" {
			return errReject
		}
		return nil
	}))
	es.OnOpen(func() { log = append(log, "open") })
	es.OnEvent(func(ev eventsource.Event) {
		log = append(log, "event "+ev.Data)
		es.Close()
	})
	var errs []error
	es.OnError(func(err error) {
		errs = append(errs, err)
		log = append(log, "error")
	})
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, []string{
		"response 503 r1", "read busy: ", "error",
		"response 200 s2", "error",
		"response 200 s3", "open", "event 1",
	}, log)
	require.Len(t, errs, 2)
	var se *eventsource.StatusError
	require.ErrorAs(t, errs[0], &se)
	assert.Equal(t, "try later", se.Body, "what the hook left of the body")
	assert.ErrorIs(t, errs[1], errReject)
}

// TestRequestsChangeAcrossReconnections: the request hook may change the
// method, the URL's query, the headers and the body of each attempt; it
// tells the first attempt from a reconnection with Stats().Connections,
// and knows the last event ID. What it changes does not carry over.
func TestRequestsChangeAcrossReconnections(t *testing.T) {
	t.Parallel()
	events := []est.Event{{ID: "1", Data: "a"}, {ID: "2", Data: "b"}, {ID: "3", Data: "c"}}
	srv := faultServer(t,
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
	srv := faultServer(t, est.Script{est.Data("x"), est.Stall()})
	es := faultES(t, srv, eventsource.WithMethod(http.MethodPost), eventsource.WithBody([]byte("old")),
		eventsource.WithRequestHook(func(req *http.Request) error {
			req.Body = io.NopCloser(strings.NewReader("a longer body"))
			return nil
		}))
	es.OnEvent(func(eventsource.Event) { es.Close() })
	require.NoError(t, recv(t, run(t, es)))
	require.Len(t, srv.Requests(), 1)
	assert.Equal(t, "a longer body", srv.Requests()[0].Body)
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
			srv := faultServer(t, est.Script{est.AutoFlush(false), est.Feed(events, 0), est.Flush(), est.Stall()})
			clock := eventsource.NewFakeClock(true)
			var policy []error
			es := faultES(t, srv, eventsource.WithClock(clock), zeroJitter, lastingAttempts(clock),
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
	srv := faultServer(t, est.Script{est.Data("1"), est.Stall()}, est.Script{est.Status(http.StatusServiceUnavailable)}, est.Script{est.Data("3"), est.Stall()})
	clock := eventsource.NewFakeClock(false)
	es := faultES(t, srv, eventsource.WithClock(clock), zeroJitter, lastingAttempts(clock))
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

// TestResponseHookRetryNow: a 401 whose hook refreshes the token and
// returns ErrRetryNow reconnects at once with the new token.
func TestResponseHookRetryNow(t *testing.T) {
	t.Parallel()
	srv := faultServer(t, est.Script{est.Status(http.StatusUnauthorized)}, est.Script{est.Data("hello"), est.Stall()})
	clock := eventsource.NewFakeClock(true)
	token := "expired"
	es := faultES(t, srv, eventsource.WithClock(clock), zeroJitter,
		eventsource.WithRequestHook(func(req *http.Request) error {
			clock.Advance(time.Second) // past the least gap between attempts
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}),
		eventsource.WithResponseHook(func(resp *http.Response) error {
			if resp.StatusCode == http.StatusUnauthorized {
				token = "fresh"
				return fmt.Errorf("token expired: %w", eventsource.ErrRetryNow)
			}
			return nil
		}))
	es.OnEvent(func(eventsource.Event) { es.Close() })
	require.NoError(t, recv(t, run(t, es)))
	assert.Empty(t, clock.Durations(), "no backoff")
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "Bearer expired", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer fresh", reqs[1].Header.Get("Authorization"))
}

// gzipped compresses each part of a stream as the server flushes it, and
// returns the pieces on the wire, in order.
func gzipped(t *testing.T, parts ...string) []string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	var pieces []string
	for _, p := range parts {
		_, err := zw.Write([]byte(p))
		require.NoError(t, err)
		require.NoError(t, zw.Flush())
		pieces = append(pieces, buf.String())
		buf.Reset()
	}
	require.NoError(t, zw.Close())
	pieces[len(pieces)-1] += buf.String()
	return pieces
}

// TestGzipStream: when user code asks for compression itself, or the
// transport does not, a gzip stream is decoded as it arrives: the server
// sends the second event only once the client has the first. The size
// limit counts decompressed bytes.
func TestGzipStream(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"Accept-Encoding by WithHeader", "DisableCompression"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			pieces := gzipped(t, "data: one\n\n", "data: two\n\n")
			first := make(chan struct{})
			srv := faultServer(t, est.Script{est.Status(http.StatusOK, "Content-Encoding", "gzip"),
				est.Raw(pieces[0]), est.Wait(first), est.Raw(pieces[1]), est.Stall()})
			client := srv.Client()
			opts := []eventsource.Option{eventsource.WithHeader("Accept-Encoding", "gzip")}
			if how == "DisableCompression" {
				tr := srv.Client().Transport.(*http.Transport).Clone()
				tr.DisableCompression = true
				t.Cleanup(tr.CloseIdleConnections)
				client, opts = &http.Client{Transport: tr}, nil
			}
			es := faultES(t, srv, append(opts, eventsource.WithHTTPClient(client))...)
			var got []string
			es.OnEvent(func(ev eventsource.Event) {
				if got = append(got, ev.Data); len(got) == 1 {
					close(first)
				} else {
					es.Close()
				}
			})
			require.NoError(t, recv(t, run(t, es)))
			assert.Equal(t, []string{"one", "two"}, got)
		})
	}
	t.Run("the limit counts decompressed bytes", func(t *testing.T) {
		t.Parallel()
		pieces := gzipped(t, "data: "+strings.Repeat("z", 1000)+"\n\n")
		srv := faultServer(t, est.Script{est.Status(http.StatusOK, "Content-Encoding", "gzip"), est.Raw(pieces[0])})
		es := faultES(t, srv, eventsource.WithHeader("Accept-Encoding", "gzip"), eventsource.WithMaxEventSize(500))
		require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrEventTooLarge)
		assert.Less(t, es.Stats().Bytes, int64(500), "fewer bytes on the wire than the limit")
	})
	t.Run("an encoding it cannot decode", func(t *testing.T) {
		t.Parallel()
		srv := faultServer(t, est.Script{est.Status(http.StatusOK, "Content-Encoding", "br"), est.Raw("\x0b\x02")})
		es := faultES(t, srv, eventsource.WithHeader("Accept-Encoding", "br"))
		require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrContentType)
	})
}

// TestStatsEventsInCallback: Stats().Events, read inside a callback,
// counts the event being delivered, also for the events of the first read.
func TestStatsEventsInCallback(t *testing.T) {
	t.Parallel()
	srv := faultServer(t, est.Script{est.AutoFlush(false), est.Repeat(50, est.Data("x")), est.Flush(), est.Stall()})
	es := faultES(t, srv)
	var mu sync.Mutex
	var counts []int64
	n := int64(0)
	es.OnEvent(func(eventsource.Event) {
		n++
		mu.Lock()
		counts = append(counts, es.Stats().Events-n)
		mu.Unlock()
		if n == 50 {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, make([]int64, 50), counts, "Stats().Events minus the events delivered so far")
}

// TestGiveUpMessages: the error that ends a stream at WithMaxRetries reads
// well: one reconnection is singular, and WithMaxRetries(0) does not speak
// of giving up after 0 reconnections.
func TestGiveUpMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		max     int
		want    string
		notWant string
	}{
		{0, "(reconnection is off)", "giving up"},
		{1, "giving up after 1 failed reconnection: ", "reconnections"},
		{2, "giving up after 2 failed reconnections in a row: ", ""},
	} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t, est.Script{est.Status(http.StatusServiceUnavailable)})
			es := faultES(t, srv, fastRetry(), eventsource.WithMaxRetries(tc.max))
			err := recv(t, run(t, es))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.notWant != "" {
				assert.NotContains(t, err.Error(), tc.notWant)
			}
		})
	}
	t.Run("a clean end with WithMaxRetries(0)", func(t *testing.T) {
		t.Parallel()
		srv := faultServer(t, est.Script{est.Data("x")})
		es := faultES(t, srv, eventsource.WithMaxRetries(0))
		err := es.Run(context.Background())
		require.ErrorIs(t, err, io.EOF)
		assert.NotContains(t, err.Error(), "giving up")
	})
}

// A stepReader returns one chunk per Read; once they run out, each Read
// sends on reading and blocks until the test closes release.
type stepReader struct {
	chunks  []string
	reading chan<- struct{}
	release <-chan struct{}
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		r.reading <- struct{}{}
		<-r.release
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// TestQuietDecoderLetsGo: the buffers that a burst grows go back once reads
// bring one event at a time: while the Decoder waits for the next read, it
// holds less than a KiB, whatever the burst left.
func TestQuietDecoderLetsGo(t *testing.T) {
	t.Parallel()
	var burst strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&burst, "event: quote\nid: %d\ndata: {\"sym\":\"ACME\",\"bid\":%d.25}\ndata: second line\n\n", i, 100+i%50)
	}
	reading := make(chan struct{}, 1)
	release := make(chan struct{})
	dec := eventsource.NewDecoder(&stepReader{
		chunks:  []string{burst.String(), "id: q1\ndata: quiet\n\n", "data: again\n\n"},
		reading: reading, release: release,
	})
	for i := range 3000 {
		ev, err := dec.Next()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), ev.ID)
	}
	busy := eventsource.DecoderHeld(dec)
	for _, want := range []string{"quiet", "again"} {
		ev, err := dec.Next()
		require.NoError(t, err)
		require.Equal(t, want, ev.Data)
	}
	next := make(chan error, 1)
	go func() {
		_, err := dec.Next()
		next <- err
	}()
	recv(t, reading)
	held := eventsource.DecoderHeld(dec)
	close(release)
	require.ErrorIs(t, recv(t, next), io.EOF)
	t.Logf("held after the burst: %d bytes; quiet: %d bytes", busy, held)
	assert.Greater(t, busy, 16<<10, "the burst grew the buffers")
	assert.Less(t, held, 1<<10, "a quiet Decoder holds little")
}

// TestReconnectIsAFailure: a connection that Reconnect dropped is not a
// success, whatever it delivered, so a server that sends a bad event every
// time meets WithMaxRetries; and its error names the request as the hook
// made it, not as the options did.
func TestReconnectIsAFailure(t *testing.T) {
	t.Parallel()
	srv := faultServer(t, est.Script{est.Data("ok"), est.Data("bad"), est.Stall()})
	errBad := errors.New("bad event")
	es := faultES(t, srv, fastRetry(), eventsource.WithMaxRetries(2), eventsource.WithMethod(http.MethodPost),
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

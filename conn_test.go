package eventsource_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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

// TestStatusEndsAtOnce: these responses end the stream after one request,
// without a reconnection wait, even with a Retry-After: 204, a content type
// other than text/event-stream, and every status but 200 that is not
// retried. Run returns the error that OnError got, a *StatusError with the
// status, the headers and the body for a status.
func TestStatusEndsAtOnce(t *testing.T) {
	t.Parallel()
	const body = `{"error":"no"}`
	reply := func(code int, contentType, body string) est.Script {
		return est.Script{est.Status(code, "X-Reason", "token", "Content-Type", contentType), est.Raw(body)}
	}
	type ending struct {
		name   string
		script est.Script
		want   error // a sentinel; nil for a *StatusError
		code   int
		body   string
	}
	tests := []ending{
		{"204", est.Script{est.Status(http.StatusNoContent)}, eventsource.ErrNoContent, 0, ""},
		{"text/html", reply(http.StatusOK, "text/html", "<p>data: x</p>\n\n"), eventsource.ErrContentType, 0, ""},
		{"text/plain", reply(http.StatusOK, "text/plain; charset=utf-8", "data: x\n\n"), eventsource.ErrContentType, 0, ""},
		{"no Content-Type", reply(http.StatusOK, "", ""), eventsource.ErrContentType, 0, ""},
		{"401", reply(http.StatusUnauthorized, "application/json", body), nil, http.StatusUnauthorized, body},
		{"403", reply(http.StatusForbidden, "application/json", body), nil, http.StatusForbidden, body},
		{"404", reply(http.StatusNotFound, "text/event-stream", body), nil, http.StatusNotFound, body},
		{"410", reply(http.StatusGone, "application/json", body), nil, http.StatusGone, body},
		{"300 without Location", reply(http.StatusMultipleChoices, "text/event-stream", body), nil, http.StatusMultipleChoices, body},
		{"304", reply(http.StatusNotModified, "", ""), nil, http.StatusNotModified, ""},
		{"205", reply(http.StatusResetContent, "text/event-stream", ""), nil, http.StatusResetContent, ""},
		{"299", reply(299, "text/event-stream", body), nil, 299, body},
	}
	for _, code := range []int{400, 401, 403, 404, 405, 410, 418, 300, 304, 201, 206} {
		script := est.Script{est.Status(code, "Retry-After", "1", "X-Reason", "token"), est.Raw(body)}
		tc := ending{strconv.Itoa(code) + " with Retry-After", script, nil, code, body}
		if code == http.StatusNotModified {
			tc.body = "" // a 304 has no body
		}
		tests = append(tests, tc)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.script)
			clock := eventsource.NewFakeClock(true)
			es := newES(t, srv, eventsource.WithClock(clock))
			tp := listen(es)
			err := recv(t, run(t, es))
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			} else {
				var se *eventsource.StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tc.code, se.StatusCode)
				assert.Equal(t, "token", se.Header.Get("X-Reason"))
				assert.Equal(t, tc.body, se.Body)
				require.Len(t, tp.errs, 1)
				require.ErrorAs(t, tp.errs[0], &se)
				assert.Equal(t, tc.code, se.StatusCode)
			}
			assert.Len(t, srv.Requests(), 1, "a single request")
			assert.Empty(t, clock.Durations(), "no reconnection wait")
			require.Len(t, tp.errs, 1)
			assert.Equal(t, err, tp.errs[0], "OnError got the error that Run returned")
			assert.Equal(t, []eventsource.ReadyState{eventsource.Closed}, tp.states, "ReadyState during OnError")
			assert.Zero(t, tp.opens)
			assert.Empty(t, tp.events)
			assert.Equal(t, eventsource.Closed, es.ReadyState())
		})
	}
}

func TestStatusErrorBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"short", "nope", "nope"},
		{"first KiB", strings.Repeat("x", 3000), strings.Repeat("x", 1024)},
		{"cut at a UTF-8 boundary", strings.Repeat("x", 1022) + "€€", strings.Repeat("x", 1022)},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Status(http.StatusBadRequest), est.Raw(tc.body)})
			es := newES(t, srv)
			var se *eventsource.StatusError
			require.ErrorAs(t, recv(t, run(t, es)), &se)
			assert.Equal(t, tc.want, se.Body)
		})
	}
}

func TestContentTypeAccepted(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"text/event-stream", "text/event-stream; charset=utf-8", "text/event-stream;", "Text/Event-Stream", "text/event-stream;charset=windows-1252"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Status(http.StatusOK, "Content-Type", ct), est.Raw("data: ok\xe2\x80\xa6\n\n"), est.Stall()})
			es := newES(t, srv)
			var got []string
			es.OnMessage(func(ev eventsource.Event) {
				got = append(got, ev.Data)
				es.Close()
			})
			require.NoError(t, recv(t, run(t, es)))
			assert.Equal(t, []string{"ok…"}, got)
		})
	}
}

// TestStatus1xx: a 1xx that reaches the client as the final response is a
// *StatusError, at once and without reading its body: after a 101 the body
// is the raw connection, which nothing would end.
func TestStatus1xx(t *testing.T) {
	t.Parallel()
	t.Run("101 then silence", func(t *testing.T) {
		t.Parallel()
		rs := rawServer(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
		es, err := eventsource.New(rs.url, eventsource.WithHTTPClient(rs.client))
		require.NoError(t, err)
		var se *eventsource.StatusError
		require.ErrorAs(t, recv(t, run(t, es)), &se)
		assert.Equal(t, http.StatusSwitchingProtocols, se.StatusCode)
		assert.Equal(t, eventsource.Closed, es.ReadyState())
	})
	t.Run("103 as the final response", func(t *testing.T) {
		t.Parallel()
		body := &blockingBody{closed: make(chan struct{})}
		client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusEarlyHints, Header: http.Header{}, Body: body, Request: req}, nil
		})}
		es, err := eventsource.New("http://stream.example/", eventsource.WithHTTPClient(client))
		require.NoError(t, err)
		var se *eventsource.StatusError
		require.ErrorAs(t, recv(t, run(t, es)), &se)
		assert.Equal(t, http.StatusEarlyHints, se.StatusCode)
		assert.Zero(t, body.reads.Load(), "the body is not read")
		recv(t, body.closed)
	})
}

// A blockingBody blocks every Read until it is closed.
type blockingBody struct {
	reads     atomic.Int32
	closed    chan struct{}
	closeOnce sync.Once
}

func (b *blockingBody) Read([]byte) (int, error) {
	b.reads.Add(1)
	<-b.closed
	return 0, net.ErrClosed
}

func (b *blockingBody) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	return nil
}

// TestErrorBodyReadEnds: the body of an error response that stalls half
// way is read for StatusError.Body, but Close, the context, the idle
// timeout and a time limit of its own each end that read at once.
func TestErrorBodyReadEnds(t *testing.T) {
	t.Parallel()
	const head = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1000\r\n\r\n"
	for _, stop := range []string{"Close", "cancel", "idle timeout", "body time limit"} {
		t.Run(stop, func(t *testing.T) {
			t.Parallel()
			rs := rawServer(t, head+"partial")
			reading := make(chan struct{}, 8)
			rs.client.Transport = readSignal{rs.client.Transport, reading}
			clock := eventsource.NewFakeClock(false)
			opts := []eventsource.Option{eventsource.WithHTTPClient(rs.client), eventsource.WithClock(clock), eventsource.WithMaxRetries(0)}
			switch stop {
			case "idle timeout":
				opts = append(opts, eventsource.WithIdleTimeout(time.Minute))
			case "body time limit":
				opts = append(opts, eventsource.WithErrorBodyTimeout(time.Millisecond))
			}
			es, err := eventsource.New(rs.url, opts...)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := runCtx(t, ctx, es)
			recv(t, reading) // the first read returns "partial"
			recv(t, reading) // the second waits for the rest
			switch stop {
			case "Close":
				require.NoError(t, es.Close())
			case "cancel":
				cancel()
			case "idle timeout":
				require.True(t, recv(t, clock.Timers()).Fire())
			}
			err = recv(t, done)
			switch stop {
			case "Close":
				require.NoError(t, err)
			case "cancel":
				require.ErrorIs(t, err, context.Canceled)
			default:
				var se *eventsource.StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, "partial", se.Body)
			}
			recv(t, rs.gone) // the connection was closed
		})
	}
}

// readSignal sends on reading at each Read of a response body, before the
// Read itself.
type readSignal struct {
	rt      http.RoundTripper
	reading chan<- struct{}
}

func (t readSignal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err == nil {
		resp.Body = signalBody{resp.Body, t.reading}
	}
	return resp, err
}

type signalBody struct {
	io.ReadCloser
	reading chan<- struct{}
}

func (b signalBody) Read(p []byte) (int, error) {
	b.reading <- struct{}{}
	return b.ReadCloser.Read(p)
}

// TestIdleTimeout fires the idle timer of a connection that sent nothing
// after its headers, and of one that sent a comment, and checks that the
// client reports ErrIdleTimeout and reconnects.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	for _, comment := range []bool{false, true} {
		t.Run(fmt.Sprintf("comment=%v", comment), func(t *testing.T) {
			t.Parallel()
			first := est.Script{est.Flush(), est.Stall()}
			if comment {
				first = est.Script{est.Flush(), est.Raw(": hi\n\n"), est.Stall()}
			}
			srv := newServer(t, first, est.Script{est.Data("back"), est.Stall()})
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
			assert.Len(t, srv.Requests(), 2)
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
		rs := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Con")
		clock := eventsource.NewFakeClock(false)
		es, err := eventsource.New(rs.url, eventsource.WithHTTPClient(rs.client), eventsource.WithClock(clock),
			eventsource.WithIdleTimeout(10*time.Second), eventsource.WithMaxRetries(0))
		require.NoError(t, err)
		done := run(t, es)
		idle := recv(t, clock.Timers())
		recv(t, rs.reached)
		require.True(t, idle.Fire())
		require.ErrorIs(t, recv(t, done), eventsource.ErrIdleTimeout)
		assert.Zero(t, idle.Resets(), "head bytes do not restart the timer")
	})
	t.Run("a complete head restarts it", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.Flush(), est.Stall()})
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
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
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

// TestResponseHook: every response reaches the hook, whatever its status,
// before OnOpen and its events; the hook may read the body of an error,
// whose rest goes to StatusError.Body; an error from the hook rejects the
// response and goes through the retry policy and OnError.
func TestResponseHook(t *testing.T) {
	t.Parallel()
	srv := newServer(t,
		est.Script{est.Status(http.StatusServiceUnavailable, "X-Request-Id", "r1"), est.Raw("busy: try later")},
		est.Script{est.Status(http.StatusOK, "Mcp-Session-Id", "s2"), est.Data("rejected")},
		est.Script{est.Status(http.StatusOK, "Mcp-Session-Id", "s3"), est.Data("1"), est.Stall()})
	var log []string // written on Run's goroutine
	errReject := errors.New("session rejected")
	es := newES(t, srv, fastRetry(), eventsource.WithResponseHook(func(resp *http.Response) error {
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

// TestResponseHookRetryNow: a 401 whose hook refreshes the token and
// returns ErrRetryNow reconnects at once with the new token.
func TestResponseHookRetryNow(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Status(http.StatusUnauthorized)}, est.Script{est.Data("hello"), est.Stall()})
	clock := eventsource.NewFakeClock(true)
	token := "expired"
	es := newES(t, srv, eventsource.WithClock(clock), zeroJitter,
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
			srv := newServer(t, est.Script{est.Status(http.StatusOK, "Content-Encoding", "gzip"),
				est.Raw(pieces[0]), est.Wait(first), est.Raw(pieces[1]), est.Stall()})
			client := srv.Client()
			opts := []eventsource.Option{eventsource.WithHeader("Accept-Encoding", "gzip")}
			if how == "DisableCompression" {
				tr := srv.Client().Transport.(*http.Transport).Clone()
				tr.DisableCompression = true
				t.Cleanup(tr.CloseIdleConnections)
				client, opts = &http.Client{Transport: tr}, nil
			}
			es := newES(t, srv, append(opts, eventsource.WithHTTPClient(client))...)
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
		srv := newServer(t, est.Script{est.Status(http.StatusOK, "Content-Encoding", "gzip"), est.Raw(pieces[0])})
		es := newES(t, srv, eventsource.WithHeader("Accept-Encoding", "gzip"), eventsource.WithMaxEventSize(500))
		require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrEventTooLarge)
		assert.Less(t, es.Stats().Bytes, int64(500), "fewer bytes on the wire than the limit")
	})
	t.Run("an encoding it cannot decode", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.Status(http.StatusOK, "Content-Encoding", "br"), est.Raw("\x0b\x02")})
		es := newES(t, srv, eventsource.WithHeader("Accept-Encoding", "br"))
		require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrContentType)
	})
}

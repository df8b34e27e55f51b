package eventsource_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
)

func halfJitter(d time.Duration) time.Duration { return d / 2 }

func noJitter(time.Duration) time.Duration { return 0 }

func TestNextDelay(t *testing.T) {
	t.Parallel()
	const maxDuration = time.Duration(1<<63 - 1)
	tests := []struct {
		name      string
		base, max time.Duration
		jitter    func(time.Duration) time.Duration
		n         int
		floor     time.Duration
		want      time.Duration
	}{
		{"first", time.Second, 30 * time.Second, noJitter, 0, 0, time.Second},
		{"doubles", time.Second, 30 * time.Second, noJitter, 3, 0, 8 * time.Second},
		{"capped", time.Second, 30 * time.Second, noJitter, 5, 0, 30 * time.Second},
		{"capped far out", time.Second, 30 * time.Second, noJitter, 1000, 0, 30 * time.Second},
		{"base above the cap", time.Minute, 30 * time.Second, noJitter, 0, 0, 30 * time.Second},
		{"jitter adds to d", time.Second, 30 * time.Second, halfJitter, 2, 0, 6 * time.Second},
		{"jitter on the cap", time.Second, 30 * time.Second, halfJitter, 10, 0, 45 * time.Second},
		{"floor above", time.Second, 30 * time.Second, noJitter, 0, 5 * time.Second, 5 * time.Second},
		{"floor below", 10 * time.Second, 30 * time.Second, noJitter, 0, 5 * time.Second, 10 * time.Second},
		{"floor above the cap", time.Second, 30 * time.Second, halfJitter, 10, 2 * time.Minute, 2 * time.Minute},
		{"base 0 at once", 0, 30 * time.Second, halfJitter, 0, 0, 0},
		{"base 0 with a floor", 0, 30 * time.Second, noJitter, 0, 7 * time.Second, 7 * time.Second},
		{"base 0 counts as 1ms, n=1", 0, 30 * time.Second, noJitter, 1, 0, 2 * time.Millisecond},
		{"base 0 counts as 1ms, n=2", 0, 30 * time.Second, noJitter, 2, 0, 4 * time.Millisecond},
		{"no overflow", time.Hour, maxDuration, halfJitter, 62, 0, maxDuration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, eventsource.NextDelay(tc.base, tc.max, tc.jitter, tc.n, tc.floor))
		})
	}
}

func TestUniformJitter(t *testing.T) {
	t.Parallel()
	assert.Equal(t, time.Duration(0), eventsource.UniformJitter(0))
	assert.Equal(t, time.Duration(0), eventsource.UniformJitter(1))
	for _, d := range []time.Duration{2, time.Millisecond, time.Second, 30 * time.Second} {
		for range 100 {
			j := eventsource.UniformJitter(d)
			require.GreaterOrEqual(t, j, time.Duration(0))
			require.LessOrEqual(t, j, d/2)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"120", 120 * time.Second},
		{" 30 ", 30 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999999999999", 0},
		{"9999999999999", time.Duration(1<<63 - 1)},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(2 * time.Hour).Format(time.RFC850), 2 * time.Hour},
		{now.Add(time.Minute).Format(time.ANSIC), time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			assert.Equal(t, tc.want, eventsource.RetryAfter(h, now))
		})
	}
}

// scripted starts a server that answers its i-th request with steps[i];
// the last step answers every later request. It counts the requests.
func scripted(t *testing.T, steps ...http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		i := int(requests.Add(1)) - 1
		steps[min(i, len(steps)-1)](w, r)
	})
	return srv, &requests
}

// status answers code, with the header pairs given.
func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

// streamOnce answers a stream of s that then ends.
func streamOnce(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, s)
	}
}

// times repeats step n times.
func times(n int, step http.HandlerFunc) []http.HandlerFunc {
	steps := make([]http.HandlerFunc, n)
	for i := range steps {
		steps[i] = step
	}
	return steps
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  []eventsource.Option
		steps []http.HandlerFunc // a 204 is added to end the stream
		want  []time.Duration
	}{
		{
			name:  "doubles on 500s in a row",
			steps: times(4, status(http.StatusInternalServerError)),
			want:  []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
		},
		{
			name:  "jitter of d/2",
			opts:  []eventsource.Option{eventsource.WithJitter(halfJitter)},
			steps: times(3, status(http.StatusInternalServerError)),
			want:  []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second},
		},
		{
			name:  "capped",
			opts:  []eventsource.Option{eventsource.WithMaxRetryDelay(3 * time.Second)},
			steps: times(4, status(http.StatusBadGateway)),
			want:  []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second},
		},
		{
			name: "a 200 that dispatched nothing is a failure in a row",
			steps: []http.HandlerFunc{
				streamOnce(""),
				streamOnce(": comment\n\n"),
				streamOnce("id: 5\n\ndata: cut off"),
			},
			want: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name: "resets after a connection delivered an event",
			steps: []http.HandlerFunc{
				status(http.StatusInternalServerError),
				status(http.StatusInternalServerError),
				streamOnce("data: x\n\n"),
				status(http.StatusInternalServerError),
				status(http.StatusInternalServerError),
			},
			want: []time.Duration{1 * time.Second, 2 * time.Second, 1 * time.Second, 2 * time.Second, 4 * time.Second},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, requests := scripted(t, append(tc.steps, status(http.StatusNoContent))...)
			clock := eventsource.NewFakeClock(true)
			opts := append([]eventsource.Option{eventsource.WithClock(clock), zeroJitter, eventsource.WithRetry(time.Second)}, tc.opts...)
			es := newES(t, srv, opts...)
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
			assert.Equal(t, tc.want, clock.Durations())
			assert.Equal(t, int32(len(tc.steps)+1), requests.Load())
		})
	}
}

// TestBackoffResetsAfterSuccessAfter: a connection that stayed open
// SuccessAfter, without an event, resets the backoff.
func TestBackoffResetsAfterSuccessAfter(t *testing.T) {
	t.Parallel()
	for _, advance := range []time.Duration{eventsource.SuccessAfter, eventsource.SuccessAfter - time.Second} {
		t.Run(fmt.Sprint(advance), func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			srv, _ := scripted(t,
				status(http.StatusServiceUnavailable),
				status(http.StatusServiceUnavailable),
				func(w http.ResponseWriter, r *http.Request) {
					startStream(w)
					select {
					case <-release:
					case <-r.Context().Done():
					}
				},
				status(http.StatusNoContent),
			)
			clock := eventsource.NewFakeClock(true)
			es := newES(t, srv, eventsource.WithClock(clock), zeroJitter, eventsource.WithRetry(time.Second))
			opened := make(chan struct{}, 1)
			es.OnOpen(func() { opened <- struct{}{} })
			done := run(t, es)
			recv(t, opened)
			clock.Advance(advance)
			close(release)
			require.ErrorIs(t, recv(t, done), eventsource.ErrNoContent)

			third := 4 * time.Second
			if advance >= eventsource.SuccessAfter {
				third = time.Second
			}
			assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, third}, clock.Durations())
		})
	}
}

func TestRetryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []http.HandlerFunc
		want  []time.Duration
	}{
		{"with an event", []http.HandlerFunc{streamOnce("retry: 250\ndata: x\n\n")}, []time.Duration{250 * time.Millisecond}},
		{"drop right after the line", []http.HandlerFunc{streamOnce("retry: 1234\n")}, []time.Duration{1234 * time.Millisecond}},
		{"leading zeros", []http.HandlerFunc{streamOnce("retry: 0700\n\n")}, []time.Duration{700 * time.Millisecond}},
		{"bogus value ignored", []http.HandlerFunc{streamOnce("retry: 2000\nretry: 100x\nretry\n")}, []time.Duration{2 * time.Second}},
		{"base of the backoff", []http.HandlerFunc{
			streamOnce("retry: 100\n"),
			status(http.StatusInternalServerError),
			streamOnce("data: x\n\n"),
		}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond}},
		{"kept across connections", []http.HandlerFunc{
			streamOnce("retry: 100\ndata: x\n\n"),
			streamOnce("data: y\n\n"),
		}, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}},
		{"retry: 0 is at once", []http.HandlerFunc{streamOnce("retry: 0\ndata: x\n\n")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := scripted(t, append(tc.steps, status(http.StatusNoContent))...)
			clock := eventsource.NewFakeClock(true)
			es := newES(t, srv, eventsource.WithClock(clock), zeroJitter, eventsource.WithRetry(3*time.Second), lastingAttempts(clock))
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
			assert.Equal(t, tc.want, clock.Durations())
		})
	}
}

func TestRetryAfterFloor(t *testing.T) {
	t.Parallel()
	date := eventsource.NewFakeClock(false).Now().Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name string
		step http.HandlerFunc
		opts []eventsource.Option
		want time.Duration
	}{
		{"seconds on 429", status(http.StatusTooManyRequests, "Retry-After", "120"), nil, 120 * time.Second},
		{"HTTP-date on 503", status(http.StatusServiceUnavailable, "Retry-After", date), nil, 90 * time.Second},
		{"the cap does not shorten it", status(http.StatusServiceUnavailable, "Retry-After", "60"),
			[]eventsource.Option{eventsource.WithMaxRetryDelay(5 * time.Second)}, 60 * time.Second},
		{"a floor only", status(http.StatusTooManyRequests, "Retry-After", "1"),
			[]eventsource.Option{eventsource.WithRetry(3 * time.Second)}, 3 * time.Second},
		{"with WithRetry(0)", status(http.StatusTooManyRequests, "Retry-After", "5"),
			[]eventsource.Option{eventsource.WithRetry(0)}, 5 * time.Second},
		{"seconds capped at an hour", status(http.StatusServiceUnavailable, "Retry-After", "999999999999"), nil, time.Hour},
		{"year 9999 capped at an hour", status(http.StatusServiceUnavailable, "Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"), nil, time.Hour},
		{"WithMaxRetryAfter", status(http.StatusTooManyRequests, "Retry-After", "3600"),
			[]eventsource.Option{eventsource.WithMaxRetryAfter(10 * time.Minute)}, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := scripted(t, tc.step, status(http.StatusNoContent))
			clock := eventsource.NewFakeClock(true)
			opts := append([]eventsource.Option{eventsource.WithClock(clock), zeroJitter, eventsource.WithRetry(time.Second)}, tc.opts...)
			es := newES(t, srv, opts...)
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
			assert.Equal(t, []time.Duration{tc.want}, clock.Durations())
		})
	}
}

// TestAttemptGap: however the server behaves, attempts are spaced: three
// may start at once, and after that one per 250 ms. A server that answers
// "retry: 0", one event and a close resets the backoff every time, and
// still gets at most four connections a second; a connection that stayed
// open a while reconnects at once.
func TestAttemptGap(t *testing.T) {
	t.Parallel()
	const gap, burst, attempts = 250 * time.Millisecond, 3, 40
	for _, tc := range []struct {
		name    string
		lasting time.Duration // how long each connection stays open, on the fake clock
		step    http.HandlerFunc
	}{
		{"retry: 0 and a close, again and again", 0, streamOnce("retry: 0\ndata: x\n\n")},
		{"failures with WithRetry(0)", 0, status(http.StatusServiceUnavailable)},
		{"connections open 100 ms", 100 * time.Millisecond, streamOnce("retry: 0\ndata: x\n\n")},
		{"connections open a second", time.Second, streamOnce("retry: 0\ndata: x\n\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := scripted(t, append(times(attempts, tc.step), status(http.StatusNoContent))...)
			clock := eventsource.NewFakeClock(true)
			var starts []time.Time // on Run's goroutine
			es := newES(t, srv, eventsource.WithClock(clock), zeroJitter, eventsource.WithRetry(0),
				eventsource.WithRequestHook(func(*http.Request) error {
					starts = append(starts, clock.Now())
					clock.Advance(tc.lasting)
					return nil
				}))
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
			require.Len(t, starts, attempts+1)
			for i := burst; i < len(starts); i++ {
				assert.GreaterOrEqual(t, starts[i].Sub(starts[i-burst]), gap, "attempts %d to %d", i-burst, i)
			}
			if tc.name == "retry: 0 and a close, again and again" {
				assert.Equal(t, starts[0], starts[burst-1], "a burst of three at once")
				assert.GreaterOrEqual(t, starts[attempts].Sub(starts[0]), (attempts-burst+1)*gap, "four a second in the long run")
			}
			if tc.lasting >= gap {
				assert.Empty(t, clock.Durations(), "no wait at all")
			}
		})
	}
}

// lastingAttempts makes each attempt last a second on clock, so that the
// least gap between attempts (TestAttemptGap) does not hide the backoff.
func lastingAttempts(clock *eventsource.FakeClock) eventsource.Option {
	return eventsource.WithRequestHook(func(*http.Request) error {
		clock.Advance(time.Second)
		return nil
	})
}

// TestRetryZero: WithRetry(0) reconnects at once the first time, without a
// timer, then counts the base as 1 ms: 1ms×2ⁿ (DESIGN.md's edge rules).
func TestRetryZero(t *testing.T) {
	t.Parallel()
	srv, requests := scripted(t, append(times(3, status(http.StatusInternalServerError)), status(http.StatusNoContent))...)
	clock := eventsource.NewFakeClock(true)
	es := newES(t, srv, eventsource.WithClock(clock), zeroJitter, eventsource.WithRetry(0), lastingAttempts(clock))
	require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
	assert.Equal(t, []time.Duration{2 * time.Millisecond, 4 * time.Millisecond}, clock.Durations())
	assert.Equal(t, int32(4), requests.Load())
}

// reply answers code with a body, and the header X-Reason: token.
func reply(code int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reason", "token")
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// TestStatusEndsStream: these responses end the stream after one request.
func TestStatusEndsStream(t *testing.T) {
	t.Parallel()
	const body = `{"error":"no"}`
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    error // a sentinel; nil for a *StatusError
		code    int
		body    string
	}{
		{"204", status(http.StatusNoContent), eventsource.ErrNoContent, 0, ""},
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
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, requests := scripted(t, tc.handler)
			es := newES(t, srv, autoClock())
			var errs []error
			es.OnError(func(err error) {
				assert.Equal(t, eventsource.Closed, es.ReadyState())
				errs = append(errs, err)
			})
			var events int
			es.OnEvent(func(eventsource.Event) { events++ })
			err := recv(t, run(t, es))
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			} else {
				var se *eventsource.StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tc.code, se.StatusCode)
				assert.Equal(t, "token", se.Header.Get("X-Reason"))
				assert.Equal(t, tc.body, se.Body)
			}
			assert.Equal(t, int32(1), requests.Load(), "a single request")
			require.Len(t, errs, 1)
			assert.Equal(t, err, errs[0], "OnError got the error that Run returned")
			assert.Zero(t, events)
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
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, tc.body)
			})
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
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				send(w, "data: ok\xe2\x80\xa6\n\n")
				<-r.Context().Done()
			})
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

func TestRetriedStatuses(t *testing.T) {
	t.Parallel()
	for _, code := range []int{
		http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
	} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			srv, requests := scripted(t, status(code), func(w http.ResponseWriter, r *http.Request) {
				startStream(w)
				send(w, "data: back\n\n")
				<-r.Context().Done()
			})
			es := newES(t, srv, autoClock())
			var errs []error
			es.OnError(func(err error) {
				assert.Equal(t, eventsource.Connecting, es.ReadyState())
				errs = append(errs, err)
			})
			es.OnMessage(func(eventsource.Event) { es.Close() })
			require.NoError(t, recv(t, run(t, es)))
			require.Len(t, errs, 1)
			var se *eventsource.StatusError
			require.ErrorAs(t, errs[0], &se)
			assert.Equal(t, code, se.StatusCode)
			assert.Equal(t, int32(2), requests.Load())
		})
	}
}

func TestMaxRetries(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			srv, requests := scripted(t, status(http.StatusInternalServerError))
			clock := eventsource.NewFakeClock(true)
			es := newES(t, srv, eventsource.WithClock(clock), eventsource.WithMaxRetries(n))
			var states []eventsource.ReadyState
			es.OnError(func(error) { states = append(states, es.ReadyState()) })
			err := recv(t, run(t, es))
			var se *eventsource.StatusError
			require.ErrorAs(t, err, &se, "Run's error wraps the last failure")
			assert.Equal(t, http.StatusInternalServerError, se.StatusCode)
			assert.Equal(t, int32(1+n), requests.Load())
			assert.Len(t, clock.Durations(), n)
			want := append(slices.Repeat([]eventsource.ReadyState{eventsource.Connecting}, n), eventsource.Closed)
			assert.Equal(t, want, states, "ReadyState during each OnError: Closed when no reconnection follows")
		})
	}
}

func TestMaxRetriesResetBySuccess(t *testing.T) {
	t.Parallel()
	srv, requests := scripted(t,
		status(http.StatusInternalServerError),
		streamOnce("data: x\n\n"),
		status(http.StatusInternalServerError),
	)
	es := newES(t, srv, autoClock(), eventsource.WithMaxRetries(1))
	var se *eventsource.StatusError
	require.ErrorAs(t, recv(t, run(t, es)), &se)
	assert.Equal(t, int32(3), requests.Load(), "500, then an event resets the count, then 500 and one retry")
}

func TestMaxRetriesZero(t *testing.T) {
	t.Parallel()
	srv, requests := scripted(t, streamOnce("data: x\n\n"))
	es := newES(t, srv, autoClock(), eventsource.WithMaxRetries(0))
	var got []string
	es.OnMessage(func(ev eventsource.Event) { got = append(got, ev.Data) })
	require.ErrorIs(t, recv(t, run(t, es)), io.EOF)
	assert.Equal(t, []string{"x"}, got)
	assert.Equal(t, int32(1), requests.Load(), "no reconnection, even after a good connection")
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	srv, requests := scripted(t, streamOnce("data: x\n\n"))
	var seen []error
	es := newES(t, srv, autoClock(), eventsource.WithRetryPolicy(func(err error) bool {
		seen = append(seen, err)
		return false
	}))
	var errs []error
	es.OnError(func(err error) {
		assert.Equal(t, eventsource.Closed, es.ReadyState())
		errs = append(errs, err)
	})
	require.ErrorIs(t, recv(t, run(t, es)), io.EOF)
	assert.Equal(t, int32(1), requests.Load())
	require.Len(t, seen, 1)
	require.ErrorIs(t, seen[0], io.EOF, "a clean end of stream is an error wrapping io.EOF")
	require.Len(t, errs, 1)
	require.ErrorIs(t, errs[0], io.EOF)
}

func TestDefaultRetryPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("conn: %w", eventsource.ErrIdleTimeout), true},
		{&eventsource.StatusError{StatusCode: 500}, true},
		{&eventsource.StatusError{StatusCode: 503}, true},
		{&eventsource.StatusError{StatusCode: 408}, true},
		{fmt.Errorf("x: %w", &eventsource.StatusError{StatusCode: 429}), true},
		{&eventsource.StatusError{StatusCode: 401}, false},
		{&eventsource.StatusError{StatusCode: 404}, false},
		{&eventsource.StatusError{StatusCode: 304}, false},
		{&eventsource.StatusError{StatusCode: 205}, false},
		{eventsource.ErrNoContent, false},
		{fmt.Errorf("x: %w", eventsource.ErrContentType), false},
		{fmt.Errorf("x: %w", eventsource.ErrEventTooLarge), false},
		{eventsource.ErrTooManyRedirects, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, eventsource.DefaultRetryPolicy(tc.err), tc.err.Error())
	}
}

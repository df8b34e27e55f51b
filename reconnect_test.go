package eventsource_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

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

// TestAttemptGap: however the server behaves, attempts start 250 ms apart
// at the least: a server that answers "retry: 0", one event and a close
// resets the backoff every time, and still gets at most four connections a
// second. A "retry: 0" connection that lasted longer reconnects at once.
func TestAttemptGap(t *testing.T) {
	t.Parallel()
	const gap = 250 * time.Millisecond
	tests := []struct {
		name    string
		lasting time.Duration // how long each connection stays open, on the fake clock
		steps   []http.HandlerFunc
		want    []time.Duration
	}{
		{"retry: 0 and a close, again and again", 0,
			times(5, streamOnce("retry: 0\ndata: x\n\n")), []time.Duration{gap, gap, gap, gap, gap}},
		{"a connection open 100 ms waits the rest", 100 * time.Millisecond,
			times(2, streamOnce("retry: 0\ndata: x\n\n")), []time.Duration{gap - 100*time.Millisecond, gap - 100*time.Millisecond}},
		{"a connection open a second reconnects at once", time.Second,
			times(3, streamOnce("retry: 0\ndata: x\n\n")), nil},
		{"failures with WithRetry(0)", 0,
			times(3, status(http.StatusServiceUnavailable)), []time.Duration{gap, gap, gap}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := scripted(t, append(tc.steps, status(http.StatusNoContent))...)
			clock := eventsource.NewFakeClock(true)
			es := newES(t, srv, eventsource.WithClock(clock), zeroJitter, eventsource.WithRetry(0))
			es.OnOpen(func() { clock.Advance(tc.lasting) })
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
			assert.Equal(t, tc.want, clock.Durations())
		})
	}
}

// TestStatusSequence answers 500, 503 with Retry-After in seconds, 503 with
// an HTTP-date, 429, 408, then 200: each is retried after the backoff, never
// less than its Retry-After, and OnError gets a *StatusError for each.
func TestStatusSequence(t *testing.T) {
	t.Parallel()
	clock := eventsource.NewFakeClock(true)
	date := clock.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	srv := faultServer(t,
		est.Script{est.Status(500), est.Raw("down")},
		est.Script{est.Status(503, "Retry-After", "7")},
		est.Script{est.Status(503, "Retry-After", date)},
		est.Script{est.Status(429, "Retry-After", "2")},
		est.Script{est.Status(408)},
		est.Script{est.Send(est.Event{ID: "1", Data: "ok"}), est.Stall()},
	)
	es := faultES(t, srv, eventsource.WithClock(clock), eventsource.WithJitter(func(time.Duration) time.Duration { return 0 }),
		eventsource.WithRetry(time.Second), eventsource.WithMaxRetryDelay(time.Minute))
	tp := listen(es)
	tp.stopAt = 1
	require.NoError(t, recv(t, runCtx(t, context.Background(), es)))

	type status struct {
		Code       int
		RetryAfter time.Duration
		Header     string
	}
	var got []status
	for _, err := range tp.errs {
		var se *eventsource.StatusError
		require.ErrorAs(t, err, &se)
		got = append(got, status{se.StatusCode, se.RetryAfter, se.Header.Get("Retry-After")})
	}
	assert.Equal(t, []status{
		{500, 0, ""}, {503, 7 * time.Second, "7"}, {503, 90 * time.Second, date}, {429, 2 * time.Second, "2"}, {408, 0, ""},
	}, got)
	assert.Equal(t, []eventsource.ReadyState{eventsource.Connecting, eventsource.Connecting, eventsource.Connecting,
		eventsource.Connecting, eventsource.Connecting}, tp.states)
	// base 1s doubling: 1s, 2s→7s (Retry-After), 4s→90s (date), 8s (over 2s), 16s.
	assert.Equal(t, []time.Duration{time.Second, 7 * time.Second, 90 * time.Second, 8 * time.Second, 16 * time.Second},
		clock.Durations())
	assert.Equal(t, []eventsource.Event{{Type: "message", Data: "ok", ID: "1"}}, tp.events)
	assert.Equal(t, 1, tp.opens)
	reqs := srv.Requests()
	require.Len(t, reqs, 6)
	for i, req := range reqs {
		assert.Equal(t, http.MethodGet, req.Method, "request %d", i)
		assert.Equal(t, "text/event-stream", req.Header.Get("Accept"), "request %d", i)
		assert.Equal(t, "no-cache", req.Header.Get("Cache-Control"), "request %d", i)
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

package eventsource_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

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

// untilNoContent returns an EventSource on clock, without jitter, for a
// server that answers the scripts in turn and then 204, which ends the
// stream; opts come after the clock.
func untilNoContent(t *testing.T, clock *eventsource.FakeClock, scripts []est.Script, opts ...eventsource.Option) (*eventsource.EventSource, *est.Server) {
	t.Helper()
	srv := newServer(t, slices.Concat(scripts, []est.Script{{est.Status(http.StatusNoContent)}})...)
	return newES(t, srv, slices.Concat([]eventsource.Option{eventsource.WithClock(clock), zeroJitter}, opts)...), srv
}

// failures is n answers of the status code.
func failures(n, code int) []est.Script {
	return slices.Repeat([]est.Script{{est.Status(code)}}, n)
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []eventsource.Option
		lasting bool         // each attempt lasts a second (lastingAttempts)
		scripts []est.Script // a 204 is added to end the stream
		want    []time.Duration
	}{
		{
			name:    "doubles on 500s in a row",
			scripts: failures(4, http.StatusInternalServerError),
			want:    []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
		},
		{
			name:    "jitter of d/2",
			opts:    []eventsource.Option{eventsource.WithJitter(halfJitter)},
			scripts: failures(3, http.StatusInternalServerError),
			want:    []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second},
		},
		{
			name:    "capped",
			opts:    []eventsource.Option{eventsource.WithMaxRetryDelay(3 * time.Second)},
			scripts: failures(4, http.StatusBadGateway),
			want:    []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second},
		},
		{
			name: "a 200 that dispatched nothing is a failure in a row",
			scripts: []est.Script{
				{},
				{est.Raw(": comment\n\n")},
				{est.Raw("id: 5\n\ndata: cut off")},
			},
			want: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name: "resets after a connection delivered an event",
			scripts: slices.Concat(
				failures(2, http.StatusInternalServerError),
				[]est.Script{{est.Data("x")}},
				failures(2, http.StatusInternalServerError),
			),
			want: []time.Duration{1 * time.Second, 2 * time.Second, 1 * time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			// WithRetry(0) reconnects at once the first time, without a
			// timer, then counts the base as 1 ms: 1ms×2ⁿ (the doc of
			// WithRetry; docs/design.md, "Reconnection").
			name:    "WithRetry(0) at once, then 1ms×2ⁿ",
			opts:    []eventsource.Option{eventsource.WithRetry(0)},
			lasting: true,
			scripts: failures(3, http.StatusInternalServerError),
			want:    []time.Duration{2 * time.Millisecond, 4 * time.Millisecond},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := eventsource.NewFakeClock(true)
			opts := append([]eventsource.Option{eventsource.WithRetry(time.Second)}, tc.opts...)
			if tc.lasting {
				opts = append(opts, lastingAttempts(clock))
			}
			es, srv := untilNoContent(t, clock, tc.scripts, opts...)
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
			assert.Equal(t, tc.want, clock.Durations())
			assert.Len(t, srv.Requests(), len(tc.scripts)+1)
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
			clock := eventsource.NewFakeClock(true)
			es, _ := untilNoContent(t, clock, append(failures(2, http.StatusServiceUnavailable),
				est.Script{est.Flush(), est.Wait(release)}), eventsource.WithRetry(time.Second))
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
		name    string
		scripts []est.Script // a 204 is added to end the stream
		want    []time.Duration
	}{
		{"with an event", []est.Script{{est.Raw("retry: 250\ndata: x\n\n")}}, []time.Duration{250 * time.Millisecond}},
		{"drop right after the line", []est.Script{{est.Raw("retry: 1234\n")}}, []time.Duration{1234 * time.Millisecond}},
		{"leading zeros", []est.Script{{est.Raw("retry: 0700\n\n")}}, []time.Duration{700 * time.Millisecond}},
		{"bogus value ignored", []est.Script{{est.Raw("retry: 2000\nretry: 100x\nretry\n")}}, []time.Duration{2 * time.Second}},
		{"base of the backoff", []est.Script{
			{est.Raw("retry: 100\n")},
			{est.Status(http.StatusInternalServerError)},
			{est.Raw("data: x\n\n")},
		}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond}},
		{"kept across connections", []est.Script{
			{est.Raw("retry: 100\ndata: x\n\n")},
			{est.Raw("data: y\n\n")},
		}, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}},
		{"retry: 0 is at once", []est.Script{{est.Raw("retry: 0\ndata: x\n\n")}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := eventsource.NewFakeClock(true)
			es, _ := untilNoContent(t, clock, tc.scripts, eventsource.WithRetry(3*time.Second), lastingAttempts(clock))
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrNoContent)
			assert.Equal(t, tc.want, clock.Durations())
		})
	}
}

func TestRetryAfterFloor(t *testing.T) {
	t.Parallel()
	date := eventsource.NewFakeClock(false).Now().Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name   string
		status est.Step
		opts   []eventsource.Option
		want   time.Duration
	}{
		{"seconds on 429", est.Status(http.StatusTooManyRequests, "Retry-After", "120"), nil, 120 * time.Second},
		{"HTTP-date on 503", est.Status(http.StatusServiceUnavailable, "Retry-After", date), nil, 90 * time.Second},
		{"the cap does not shorten it", est.Status(http.StatusServiceUnavailable, "Retry-After", "60"),
			[]eventsource.Option{eventsource.WithMaxRetryDelay(5 * time.Second)}, 60 * time.Second},
		{"a floor only", est.Status(http.StatusTooManyRequests, "Retry-After", "1"),
			[]eventsource.Option{eventsource.WithRetry(3 * time.Second)}, 3 * time.Second},
		{"with WithRetry(0)", est.Status(http.StatusTooManyRequests, "Retry-After", "5"),
			[]eventsource.Option{eventsource.WithRetry(0)}, 5 * time.Second},
		{"seconds capped at an hour", est.Status(http.StatusServiceUnavailable, "Retry-After", "999999999999"), nil, time.Hour},
		{"year 9999 capped at an hour", est.Status(http.StatusServiceUnavailable, "Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"), nil, time.Hour},
		{"WithMaxRetryAfter", est.Status(http.StatusTooManyRequests, "Retry-After", "3600"),
			[]eventsource.Option{eventsource.WithMaxRetryAfter(10 * time.Minute)}, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := eventsource.NewFakeClock(true)
			opts := append([]eventsource.Option{eventsource.WithRetry(time.Second)}, tc.opts...)
			es, _ := untilNoContent(t, clock, []est.Script{{tc.status}}, opts...)
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
	retryZero := est.Script{est.Raw("retry: 0\ndata: x\n\n")}
	for _, tc := range []struct {
		name    string
		lasting time.Duration // how long each connection stays open, on the fake clock
		scripts []est.Script  // a 204 is added to end the stream
	}{
		{"retry: 0 and a close, again and again", 0, slices.Repeat([]est.Script{retryZero}, attempts)},
		{"failures with WithRetry(0)", 0, failures(attempts, http.StatusServiceUnavailable)},
		{"connections open 100 ms", 100 * time.Millisecond, slices.Repeat([]est.Script{retryZero}, attempts)},
		{"connections open a second", time.Second, slices.Repeat([]est.Script{retryZero}, attempts)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := eventsource.NewFakeClock(true)
			var starts []time.Time // on Run's goroutine
			es, _ := untilNoContent(t, clock, tc.scripts, eventsource.WithRetry(0),
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

// TestStatusSequence answers 500, 503 with Retry-After in seconds, 503 with
// an HTTP-date, 429, 408, 502, then 200: each is retried after the backoff,
// never less than its Retry-After, and OnError gets a *StatusError for each,
// while ReadyState is Connecting.
func TestStatusSequence(t *testing.T) {
	t.Parallel()
	clock := eventsource.NewFakeClock(true)
	// The waits of 1 s and 7 s pass on the clock before the response that
	// carries the date, 90 s ahead by then.
	date := clock.Now().Add(98 * time.Second).UTC().Format(http.TimeFormat)
	srv := newServer(t,
		est.Script{est.Status(500), est.Raw("down")},
		est.Script{est.Status(503, "Retry-After", "7")},
		est.Script{est.Status(503, "Retry-After", date)},
		est.Script{est.Status(429, "Retry-After", "2")},
		est.Script{est.Status(408)},
		est.Script{est.Status(502)},
		est.Script{est.Send(est.Event{ID: "1", Data: "ok"}), est.Stall()},
	)
	es := newES(t, srv, eventsource.WithClock(clock), zeroJitter,
		eventsource.WithRetry(time.Second), eventsource.WithMaxRetryDelay(time.Minute))
	tp := listen(es)
	tp.stopAt = 1
	require.NoError(t, recv(t, run(t, es)))

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
		{500, 0, ""}, {503, 7 * time.Second, "7"}, {503, 90 * time.Second, date}, {429, 2 * time.Second, "2"}, {408, 0, ""}, {502, 0, ""},
	}, got)
	assert.Equal(t, slices.Repeat([]eventsource.ReadyState{eventsource.Connecting}, 6), tp.states)
	// base 1s doubling: 1s, 2s→7s (Retry-After), 4s→90s (date), 8s (over 2s), 16s, 32s.
	assert.Equal(t, []time.Duration{time.Second, 7 * time.Second, 90 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second},
		clock.Durations())
	assert.Equal(t, []eventsource.Event{{Type: "message", Data: "ok", ID: "1"}}, tp.events)
	assert.Equal(t, 1, tp.opens)
	reqs := srv.Requests()
	require.Len(t, reqs, 7)
	for i, req := range reqs {
		assert.Equal(t, http.MethodGet, req.Method, "request %d", i)
		assert.Equal(t, "text/event-stream", req.Header.Get("Accept"), "request %d", i)
		assert.Equal(t, "no-cache", req.Header.Get("Cache-Control"), "request %d", i)
	}
}

// TestMaxRetries: WithMaxRetries(n) gives up after n failed reconnections
// in a row; a connection that delivered an event resets the count; 0 never
// reconnects. Run's error wraps the last failure, and ReadyState is Closed
// during the OnError that no reconnection follows.
func TestMaxRetries(t *testing.T) {
	t.Parallel()
	fail := est.Script{est.Status(http.StatusInternalServerError)}
	event := est.Script{est.Data("x")}
	c, closed := eventsource.Connecting, eventsource.Closed
	tests := []struct {
		name     string
		n        int
		scripts  []est.Script
		eof      bool                     // Run returns io.EOF; else a *StatusError of the last 500
		requests int                      // why so many: the name
		states   []eventsource.ReadyState // during each OnError, one reconnection wait before each but the last
		messages []string
	}{
		{"1", 1, []est.Script{fail}, false, 2, []eventsource.ReadyState{c, closed}, nil},
		{"3", 3, []est.Script{fail}, false, 4, []eventsource.ReadyState{c, c, c, closed}, nil},
		{"500, then an event resets the count, then 500 and one retry", 1, []est.Script{fail, event, fail}, false, 3,
			[]eventsource.ReadyState{c, c, closed}, []string{"x"}},
		{"0: no reconnection, even after a good connection", 0, []est.Script{event}, true, 1,
			[]eventsource.ReadyState{closed}, []string{"x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.scripts...)
			clock := eventsource.NewFakeClock(true)
			es := newES(t, srv, eventsource.WithClock(clock), eventsource.WithMaxRetries(tc.n))
			var states []eventsource.ReadyState
			es.OnError(func(error) { states = append(states, es.ReadyState()) })
			var messages []string
			es.OnMessage(func(ev eventsource.Event) { messages = append(messages, ev.Data) })
			err := recv(t, run(t, es))
			if tc.eof {
				require.ErrorIs(t, err, io.EOF)
			} else {
				var se *eventsource.StatusError
				require.ErrorAs(t, err, &se, "Run's error wraps the last failure")
				assert.Equal(t, http.StatusInternalServerError, se.StatusCode)
			}
			assert.Len(t, srv.Requests(), tc.requests, tc.name)
			assert.Len(t, clock.Durations(), len(tc.states)-1)
			assert.Equal(t, tc.states, states, "ReadyState during each OnError: Closed when no reconnection follows")
			assert.Equal(t, tc.messages, messages)
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("x")})
	var seen []error
	es := newES(t, srv, fastRetry(), eventsource.WithRetryPolicy(func(err error) bool {
		seen = append(seen, err)
		return false
	}))
	var errs []error
	es.OnError(func(err error) {
		assert.Equal(t, eventsource.Closed, es.ReadyState())
		errs = append(errs, err)
	})
	require.ErrorIs(t, recv(t, run(t, es)), io.EOF)
	assert.Len(t, srv.Requests(), 1)
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

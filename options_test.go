package eventsource_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

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
	srv := newServer(t,
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

// TestOptionWithControlCharacter: New must reject a header value or a last
// event ID that net/http will not send, or the requests must go out; it
// must not accept it and then fail every attempt for ever.
func TestOptionWithControlCharacter(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]eventsource.Option{
		"WithHeader":      eventsource.WithHeader("X-A", "a\x01b"),
		"WithLastEventID": eventsource.WithLastEventID("a\x01b"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Data("a"), est.Stall()})
			es, err := eventsource.New(srv.URL, eventsource.WithHTTPClient(srv.Client()), fastRetry(),
				eventsource.WithMaxRetries(3), opt)
			if err != nil {
				return // rejected up front: fine
			}
			tp := listen(es)
			tp.stopAt = 1
			require.NoError(t, recv(t, run(t, es)), "New accepted the option, so the request must go out")
			assert.Len(t, srv.Requests(), 1)
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

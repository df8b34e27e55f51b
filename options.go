// This file holds the options of an EventSource, and its defaults, which
// live in defaultConfig and nowhere else.

package eventsource

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// An Option configures an [EventSource]. Options only record values; [New]
// applies them in order, a later one replacing an earlier one, checks them
// all, and returns an error naming the first bad one. The zero Option does
// nothing.
//
// One rule holds for every option: a nil or zero argument means the
// default, so that a value taken from a config file or a flag left unset
// needs no special case. Two options are the exceptions, because in the
// browser's model their zero is a setting of its own: [WithRetry](0)
// reconnects at once, and [WithMaxRetries](0) never reconnects. A negative
// number or duration is an error, but for [WithMaxRetries], where it means
// for ever.
type Option struct {
	apply func(*config)
}

// config holds every setting of an EventSource. Its defaults live in
// defaultConfig, and nowhere else.
type config struct {
	client        *http.Client
	header        http.Header
	method        string
	body          []byte
	lastEventID   string
	retry         time.Duration
	maxRetryDelay time.Duration
	maxRetryAfter time.Duration
	maxRetries    int
	idleTimeout   time.Duration
	maxEventSize  int
	requestHook   func(*http.Request) error
	responseHook  func(*http.Response) error
	retryPolicy   func(error) bool
	logger        *slog.Logger

	// The clock and the randomness, replaced by tests (export_test.go) so
	// that no test waits on the wall clock.
	now       func() time.Time
	afterFunc func(time.Duration, func()) timer
	jitter    func(time.Duration) time.Duration

	// errorBodyTimeout bounds the read of an error response's body, for
	// StatusError.Body; tests shorten it.
	errorBodyTimeout time.Duration

	errs []error // what the options found wrong, reported by New
}

// timer is the part of [*time.Timer] that the client uses.
type timer interface {
	Stop() bool
	Reset(time.Duration) bool
}

// defaultHeader is the header of every request when no WithHeader was
// given. It is shared, and never written to.
var defaultHeader = http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-cache"}}

func defaultConfig() config {
	return config{
		client:        http.DefaultClient,
		method:        http.MethodGet,
		retry:         3 * time.Second,
		maxRetryDelay: 30 * time.Second,
		maxRetryAfter: time.Hour,
		maxRetries:    -1,
		maxEventSize:  defaultMaxEventSize,
		retryPolicy:   DefaultRetryPolicy,
		now:           time.Now,
		afterFunc:     func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) },
		jitter:        uniformJitter,

		errorBodyTimeout: 5 * time.Second,
	}
}

// uniformJitter returns a random duration in [0, d/2].
func uniformJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return 0
	}
	return rand.N(d/2 + 1)
}

// WithHTTPClient sets the client that makes the requests. The default, and
// what nil means, is [http.DefaultClient]. The client is copied, never
// changed: the copy adds a CheckRedirect that drops custom headers on a
// redirect to another origin, then runs c's own CheckRedirect, if any. c's
// Timeout must be 0, because a Timeout cuts every stream short; use
// [WithIdleTimeout] to detect a dead connection.
func WithHTTPClient(c *http.Client) Option {
	return Option{func(cfg *config) {
		switch {
		case c == nil:
			cfg.client = http.DefaultClient
		case c.Timeout != 0:
			cfg.errs = append(cfg.errs, errors.New("WithHTTPClient: the client has a Timeout, which would cut every stream; set it to 0 and use WithIdleTimeout"))
		default:
			cfg.client = c
		}
	}}
}

// WithHeader sets a header on every request, the first and each
// reconnection. It replaces what an earlier WithHeader set for the same key.
// It may replace the default Accept and Cache-Control too (some APIs want
// "Accept: application/json, text/event-stream"), but not Last-Event-ID:
// use [WithLastEventID]. Headers other than Accept, Cache-Control and
// Last-Event-ID are not sent to another origin after a redirect. To send a
// value that changes, such as a token that expires, use [WithRequestHook].
// An empty value removes the header, as curl's -H 'Name:' does: the
// requests carry no Accept after WithHeader("Accept", ""). The key must be a
// valid header name, and the value hold no control character but tab.
func WithHeader(key, value string) Option {
	return Option{func(c *config) {
		switch {
		case !validToken(key):
			c.errs = append(c.errs, fmt.Errorf("WithHeader: invalid header name %q", key))
		case http.CanonicalHeaderKey(key) == "Last-Event-Id":
			c.errs = append(c.errs, errors.New("WithHeader: the client sets Last-Event-ID itself; start from a stored ID with WithLastEventID"))
		case !validHeaderValue(value):
			c.errs = append(c.errs, fmt.Errorf("WithHeader: the value of %s holds a control character", key))
		default:
			if c.header == nil {
				c.header = make(http.Header)
			}
			if value == "" {
				// Marked, so that New neither adds a default nor sends it.
				c.header[http.CanonicalHeaderKey(key)] = nil
			} else {
				c.header.Set(key, value)
			}
		}
	}}
}

// WithMethod sets the request method. The default, and what "" means, is
// GET. An endpoint that
// answers a POST with a stream that ends (an LLM API) is better read with
// [NewDecoder] on the response body: an EventSource reconnects when the
// stream ends, and sends the request again.
func WithMethod(method string) Option {
	return Option{func(c *config) {
		if method == "" {
			method = http.MethodGet
		}
		if !validToken(method) {
			c.errs = append(c.errs, fmt.Errorf("WithMethod: invalid method %q", method))
			return
		}
		c.method = method
	}}
}

// WithBody sets the request body. It is sent again, whole, on every
// reconnection. Set its Content-Type with [WithHeader]. The default is no
// body. The EventSource keeps body; do not change it afterwards.
func WithBody(body []byte) Option {
	return Option{func(c *config) { c.body = body }}
}

// WithLastEventID sets the last event ID to start from, sent in the
// Last-Event-ID header of the first request, to resume a stream from a
// stored position. The default is none.
func WithLastEventID(id string) Option {
	return Option{func(c *config) {
		if !validHeaderValue(id) {
			c.errs = append(c.errs, errors.New("WithLastEventID: the ID holds a control character, which HTTP headers cannot carry"))
			return
		}
		c.lastEventID = id
	}}
}

// WithRetry sets the first reconnection delay, the base of the exponential
// backoff. A "retry:" field from the server replaces it. The default is 3s;
// 0 reconnects at once the first time (one of the two exceptions to the rule
// of [Option]), within the spacing of attempts that the package doc
// describes (a burst of three, then one per 250 ms). d must not be negative.
func WithRetry(d time.Duration) Option {
	return Option{func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, errors.New("WithRetry: negative duration"))
			return
		}
		c.retry = d
	}}
}

// WithMaxRetryDelay caps the exponential backoff. The default, and what 0
// means, is 30s. d must not be negative. A Retry-After from the server may
// ask for longer, and is honoured up to [WithMaxRetryAfter].
func WithMaxRetryDelay(d time.Duration) Option {
	return Option{func(c *config) {
		c.maxRetryDelay = nonNegative(c, "WithMaxRetryDelay", d, defaultConfig().maxRetryDelay)
	}}
}

// WithMaxRetryAfter caps the wait that a Retry-After header (on a retried
// status: 5xx, 408, 429) may impose: a longer one, such as a date in the
// year 9999, waits d instead. The default, and what 0 means, is 1h. d must
// not be negative. The header's full value stays in
// [StatusError.RetryAfter].
func WithMaxRetryAfter(d time.Duration) Option {
	return Option{func(c *config) {
		c.maxRetryAfter = nonNegative(c, "WithMaxRetryAfter", d, defaultConfig().maxRetryAfter)
	}}
}

// WithMaxRetries makes the EventSource give up after n failed reconnections
// in a row: [EventSource.Run] then returns an error wrapping the last
// failure. A connection that delivered an event, or stayed open 60 s, resets
// the count. n < 0, the default, retries for ever; 0 never reconnects (one
// of the two exceptions to the rule of [Option]).
func WithMaxRetries(n int) Option {
	return Option{func(c *config) { c.maxRetries = n }}
}

// WithIdleTimeout drops a connection, and reconnects, when the server goes
// quiet for d. Until the response head (status line and headers) is
// complete, d bounds the whole wait from the request: a head that trickles
// in byte by byte must still be complete within d. After the head, d is the
// longest gap between two reads of the body; events and comments both count.
// The error is [ErrIdleTimeout]. Servers send comment lines as heartbeats;
// set d to a few of their intervals. The default, 0, is no timeout. d must
// not be negative.
func WithIdleTimeout(d time.Duration) Option {
	return Option{func(c *config) {
		c.idleTimeout = nonNegative(c, "WithIdleTimeout", d, 0)
	}}
}

// WithMaxEventSize limits one line, and one event's data, to n bytes.
// A longer line or event ends the connection with an error wrapping
// [ErrEventTooLarge], which [DefaultRetryPolicy] does not retry.
// The default, and what 0 means, is 16 MiB. n must not be negative.
func WithMaxEventSize(n int) Option {
	return Option{func(c *config) {
		c.maxEventSize = nonNegative(c, "WithMaxEventSize", n, defaultMaxEventSize)
	}}
}

// nonNegative returns v, or def when v is zero; a negative v is an error of
// the option named opt.
func nonNegative[T int | time.Duration](c *config, opt string, v, def T) T {
	switch {
	case v < 0:
		c.errs = append(c.errs, fmt.Errorf("%s: negative value %v", opt, v))
		return def
	case v == 0:
		return def
	}
	return v
}

// WithRequestHook sets a function that runs before every attempt, the first
// and each reconnection, on the goroutine that called Run, with the request
// about to be sent, built anew for each attempt from the options: what fn
// changes does not carry over to the next attempt. fn may change
//
//   - the headers: refresh a token that expires, sign the request, send a
//     session header; a Last-Event-ID header is already set when there is
//     a last event ID to send;
//   - the method and the URL, its query included (resume with
//     "?starting_after=42");
//   - the body: set req.Body, or nil for none; the client then sets
//     ContentLength to 0 for none and -1 (unknown, sent chunked) for a new
//     body, unless fn set it too.
//
// To tell the first attempt from a reconnection, and to know the last event
// ID, fn may call the EventSource's methods: during fn, [EventSource.Stats]
// counts in Connections the attempts made before this one (0 for the first),
// and [EventSource.LastEventID] is the ID the stream resumes from. An error
// from fn ends the stream for good: [EventSource.OnError] gets it, and Run
// returns it, wrapped. The default, and what nil means, is none.
func WithRequestHook(fn func(req *http.Request) error) Option {
	return Option{func(c *config) { c.requestHook = fn }}
}

// WithResponseHook sets a function that runs for every response, whatever
// its status, on the goroutine that called Run, before the client checks the
// response and before any of its events or [EventSource.OnOpen]: read its
// headers (a session ID, a request ID, rate limits). fn may read the body of
// a response whose status is not 200, and what it leaves goes to
// [StatusError.Body]; it must not read or close the body of a 200 response,
// which is the stream. An error from fn rejects the response: the attempt
// fails with an error wrapping it, which goes through the retry policy and
// [EventSource.OnError] like any other. Wrap [ErrRetryNow] to reconnect at
// once, after refreshing a token on a 401 for instance. Responses to
// redirects that the client follows do not reach fn. The default, and what
// nil means, is none.
func WithResponseHook(fn func(resp *http.Response) error) Option {
	return Option{func(c *config) { c.responseHook = fn }}
}

// WithRetryPolicy sets the function that decides which errors are retried.
// It gets every error that ended an attempt or a connection, wrapped: use
// [errors.Is] and [errors.As]. Its answer is final for that error: true
// reconnects after the backoff (within [WithMaxRetries]), false ends the
// stream. The default is [DefaultRetryPolicy]; nil restores it.
func WithRetryPolicy(retry func(err error) bool) Option {
	return Option{func(c *config) {
		if retry == nil {
			retry = DefaultRetryPolicy
		}
		c.retryPolicy = retry
	}}
}

// WithLogger makes the EventSource log to l: connection attempts (Debug),
// connections opened (Info), reconnections with their delay and cause
// (Info), and the error that ends the stream (Warn). It never logs header
// values, bodies, events, or the URL's credentials and query. The default,
// and what nil means, is no logging.
func WithLogger(l *slog.Logger) Option {
	return Option{func(c *config) { c.logger = l }}
}

// validHeaderValue reports whether net/http can send s as a header value:
// no control character but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// validToken reports whether s is a non-empty HTTP token (RFC 9110), as
// header names and methods must be.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c <= ' ' || strings.IndexByte("\"(),/:;<=>?@[\\]{}\x7f", c) >= 0 {
			return false
		}
	}
	return true
}

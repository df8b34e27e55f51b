package eventsource

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrNoContent reports that the server answered 204 No Content, which in
// Server-Sent Events means "stop reconnecting". [DefaultRetryPolicy] does not
// retry it.
var ErrNoContent = errors.New("eventsource: server answered 204 No Content")

// ErrContentType reports a 200 response whose Content-Type is not
// text/event-stream. [DefaultRetryPolicy] does not retry it: the server would
// send the same thing again.
var ErrContentType = errors.New("eventsource: response is not text/event-stream")

// ErrEventTooLarge reports a line, or the data of one event, longer than the
// maximum event size ([WithMaxEventSize], [Decoder.SetMaxEventSize]).
// [DefaultRetryPolicy] does not retry it: the server would send the same
// event again.
var ErrEventTooLarge = errors.New("eventsource: event too large")

// ErrIdleTimeout reports a connection that sent no byte, not even a comment,
// for the time set by [WithIdleTimeout]. [DefaultRetryPolicy] retries it.
var ErrIdleTimeout = errors.New("eventsource: idle timeout")

// ErrRetryNow makes the client reconnect at once, skipping the backoff, when
// the error that ended an attempt wraps it: return it from the hook of
// [WithResponseHook] (after refreshing a token on a 401, say), or give it to
// [EventSource.Reconnect]. The reconnection still keeps to the spacing of
// attempts (a burst of three, then one per 250 ms), and counts as a failure
// in a row for [WithMaxRetries]. [DefaultRetryPolicy] retries it.
var ErrRetryNow = errors.New("eventsource: reconnect at once")

// ErrTooManyRedirects reports a redirect chain longer than 10 hops, a loop
// most likely. [DefaultRetryPolicy] does not retry it. It is used only when
// the [http.Client] given to [WithHTTPClient] has no CheckRedirect of its own.
var ErrTooManyRedirects = errors.New("eventsource: stopped after 10 redirects")

// A StatusError reports a response whose status is not 200 OK (or a 204,
// which is [ErrNoContent]). Use [errors.As] to read it:
//
//	var se *eventsource.StatusError
//	if errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized { … }
type StatusError struct {
	StatusCode int
	Header     http.Header // the response's headers (Retry-After, rate limits)
	Body       string      // the first KiB of the response body, cut at a UTF-8 boundary

	// RetryAfter is the response's Retry-After, as a duration from the
	// moment the response arrived, or 0 when it had none (or an invalid one).
	RetryAfter time.Duration
}

// Error returns the status, such as "eventsource: status 503 Service
// Unavailable". It leaves out the body and the headers, which may hold
// secrets; read them from the fields.
func (e *StatusError) Error() string {
	if text := http.StatusText(e.StatusCode); text != "" {
		return fmt.Sprintf("eventsource: status %d %s", e.StatusCode, text)
	}
	return fmt.Sprintf("eventsource: status %d", e.StatusCode)
}

// errClosed is the cause with which [EventSource.Close] cancels the attempt
// under way.
var errClosed = errors.New("eventsource: closed")

// errRunTwice is returned by a second call of [EventSource.Run].
var errRunTwice = errors.New("eventsource: Run called more than once; create a new EventSource with New")

// A requestError names the request that failed: its method and its URL
// without credentials, query or fragment, which may hold secrets.
type requestError struct {
	method, url string
	err         error
}

func (e *requestError) Error() string {
	return "eventsource: " + e.method + " " + e.url + ": " + strings.TrimPrefix(e.err.Error(), "eventsource: ")
}

func (e *requestError) Unwrap() error { return e.err }

// A giveUpError ends the stream when WithMaxRetries is reached; it wraps
// the last failure.
type giveUpError struct {
	reconnections int
	err           error
}

func (e *giveUpError) Error() string {
	cause := strings.TrimPrefix(e.err.Error(), "eventsource: ")
	switch e.reconnections {
	case 0:
		return "eventsource: " + cause + " (reconnection is off)"
	case 1:
		return "eventsource: giving up after 1 failed reconnection: " + cause
	}
	return fmt.Sprintf("eventsource: giving up after %d failed reconnections in a row: %s", e.reconnections, cause)
}

func (e *giveUpError) Unwrap() error { return e.err }

var (
	// errStreamEnded is a clean end of stream: the server closed it.
	errStreamEnded = fmt.Errorf("stream ended: %w", io.EOF)
	// errHook marks an error of the request hook, which is never retried.
	errHook = errors.New("request hook")
	// errReconnectRequested is the cause of a Reconnect(nil).
	errReconnectRequested = errors.New("Reconnect called")
)

// A reconnectError ends an attempt that [EventSource.Reconnect] dropped; it
// wraps the cause given to Reconnect.
type reconnectError struct{ cause error }

func (e *reconnectError) Error() string {
	return "reconnect: " + strings.TrimPrefix(e.cause.Error(), "eventsource: ")
}

func (e *reconnectError) Unwrap() error { return e.cause }

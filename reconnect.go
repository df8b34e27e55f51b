package eventsource

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// successAfter is how long a connection must stay open to count as a
// success, resetting the backoff, when it dispatched no event.
const successAfter = 60 * time.Second

// DefaultRetryPolicy reports whether err, which ended an attempt or a
// connection, is worth a reconnection. It retries network errors, a clean
// end of stream (an error wrapping [io.EOF]), [ErrIdleTimeout], and a
// [*StatusError] of 5xx, 408 Request Timeout or 429 Too Many Requests.
// It does not retry [ErrNoContent], [ErrContentType], [ErrEventTooLarge],
// [ErrTooManyRedirects], a TLS certificate that does not verify, or any
// other status (other 4xx, a 3xx that was not followed, a 2xx other than
// 200): the server would answer the same way again.
//
// Retrying 5xx, 408 and 429 departs from browsers, which give up, so that a
// Go service rides out a server restart or a rate limit.
func DefaultRetryPolicy(err error) bool {
	var status *StatusError
	var cert *tls.CertificateVerificationError
	switch {
	case err == nil:
		return true
	case errors.As(err, &status):
		code := status.StatusCode
		return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
	case errors.Is(err, ErrNoContent),
		errors.Is(err, ErrContentType),
		errors.Is(err, ErrEventTooLarge),
		errors.Is(err, ErrTooManyRedirects),
		errors.As(err, &cert):
		return false
	}
	return true
}

// backoff computes reconnection delays. It is a pure function of its
// fields, so tests check it as a table.
type backoff struct {
	base   time.Duration                     // the reconnection time: WithRetry or "retry:"
	max    time.Duration                     // WithMaxRetryDelay
	jitter func(time.Duration) time.Duration // a random duration in [0, d/2]
}

// next returns the wait before reconnection n, where n counts the failures
// in a row from 0:
//
//	d    = min(max, base × 2ⁿ)    (a base of 0 is at once for n = 0, 1 ms after)
//	wait = max(d + jitter(d), floor)
//
// floor is the server's Retry-After, which the cap does not shorten.
func (b backoff) next(n int, floor time.Duration) time.Duration {
	base := b.base
	if base == 0 {
		if n == 0 {
			return floor
		}
		base = time.Millisecond
	}
	d := b.max
	if n < 63 && base <= b.max>>n {
		d = base << n
	}
	j := b.jitter(d)
	if d > maxDuration-j {
		return maxDuration
	}
	return max(d+j, floor)
}

// retryAfter returns the delay a Retry-After header asks for, in
// delta-seconds or as an HTTP-date, from now; 0 when there is none, or it is
// not valid, or it is in the past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxDuration/time.Second) {
			return maxDuration
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

const maxDuration = time.Duration(1<<63 - 1)

// wait blocks for d, or until ctx ends. It reports whether the full wait
// passed.
func (es *EventSource) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	done := make(chan struct{})
	t := es.cfg.afterFunc(d, func() { close(done) })
	select {
	case <-done:
		// Both may be ready: a Close during the wait wins.
		return ctx.Err() == nil
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

package eventsource

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// successAfter is how long a connection must stay open to count as a
// success, resetting the backoff, when it dispatched no event.
const successAfter = 60 * time.Second

// A server that answers each request with "retry: 0", one event and a
// close resets the backoff every time; without a limit the client would
// reconnect thousands of times a second. So attempts are spaced as by a
// token bucket: attemptBurst of them may start at once, and after that one
// per minAttemptGap. No server makes one EventSource connect more than
// four times a second for long, while a "retry: 0" stream that drops now
// and then still reconnects at once.
const (
	attemptBurst  = 3
	minAttemptGap = 250 * time.Millisecond
)

// attemptLimiter spaces attempts: a burst of attemptBurst, then one per
// minAttemptGap (the "generic cell rate algorithm" form of a token bucket).
type attemptLimiter struct {
	next time.Time // when the bucket is full again, had no attempt come since
}

// wait returns how long an attempt must wait at now.
func (l *attemptLimiter) wait(now time.Time) time.Duration {
	return max(0, l.next.Sub(now)-(attemptBurst-1)*minAttemptGap)
}

// start records an attempt that starts at now.
func (l *attemptLimiter) start(now time.Time) {
	if l.next.Before(now) {
		l.next = now
	}
	l.next = l.next.Add(minAttemptGap)
}

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

// loop connects and reconnects until the stream ends for good or ctx ends.
// It is lean, as connect is: an idle stream waits below it.
func (es *EventSource) loop(ctx context.Context) error {
	r := retries{b: backoff{base: es.cfg.retry, max: es.cfg.maxRetryDelay, jitter: es.cfg.jitter}}
	for {
		r.limit.start(es.cfg.now())
		a := es.connect(ctx)
		if es.stopped(ctx.Done()) {
			return ctx.Err()
		}
		delay, err := es.failed(ctx, &r, a)
		if err != nil {
			return err
		}
		if !es.wait(ctx, delay) {
			return ctx.Err()
		}
		r.n++
		es.stats.reconnections.Add(1)
	}
}

// retries is the state of the retry loop.
type retries struct {
	b     backoff
	n     int // the number of the next reconnection: failures in a row
	limit attemptLimiter
}

// failed takes the attempt a that just ended: it decides whether to
// reconnect, and after what delay, and reports the failure to OnError. It
// returns the error that ends the stream for good, if any.
func (es *EventSource) failed(ctx context.Context, r *retries, a attempt) (time.Duration, error) {
	if a.retrySet {
		r.b.base = a.retry
	}
	if a.ok {
		r.n = 0
	}
	err := a.err
	retry := !errors.Is(err, errHook) && es.cfg.retryPolicy(err)
	if retry && es.cfg.maxRetries >= 0 && r.n >= es.cfg.maxRetries {
		retry = false
		err = &giveUpError{reconnections: r.n, err: err}
	}
	var delay time.Duration
	if retry {
		if !errors.Is(err, ErrRetryNow) {
			delay = r.b.next(r.n, es.retryAfterFloor(err))
		}
		// However the server behaves, attempts are spaced.
		delay = max(delay, r.limit.wait(es.cfg.now()))
		es.setState(Connecting)
	} else {
		es.setState(Closed)
	}
	es.stats.setError(err, delay)
	if fn := es.handlers.Load().onError; fn != nil {
		fn(err)
	}
	if !retry {
		es.log(ctx, slog.LevelWarn, "stream ended for good", "error", err)
		return 0, err
	}
	es.log(ctx, slog.LevelInfo, "reconnecting", "error", err, "delay", delay, "failures_in_a_row", r.n)
	return delay, nil
}

// retryAfterFloor returns the least wait that err's Retry-After asks for,
// capped by WithMaxRetryAfter.
func (es *EventSource) retryAfterFloor(err error) time.Duration {
	var status *StatusError
	if !errors.As(err, &status) {
		return 0
	}
	return min(status.RetryAfter, es.cfg.maxRetryAfter)
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

// wait blocks for d, until ctx ends, or until Reconnect or Close wakes it.
// It reports whether the stream goes on: neither ended nor Close.
func (es *EventSource) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return !es.stopped(ctx.Done())
	}
	done := make(chan struct{})
	t := es.cfg.afterFunc(d, func() { close(done) })
	select {
	case <-done:
	case <-es.wake:
	case <-ctx.Done():
	}
	t.Stop()
	// When both are ready, a Close during the wait wins.
	return !es.stopped(ctx.Done())
}

package eventsource

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// This file exports test hooks to the tests of package eventsource_test,
// without adding public API.

// NextDelay exposes backoff.next for table tests.
func NextDelay(base, maxDelay time.Duration, jitter func(time.Duration) time.Duration, n int, floor time.Duration) time.Duration {
	return backoff{base: base, max: maxDelay, jitter: jitter}.next(n, floor)
}

// NewConnectionDecoder returns the Decoder that an EventSource reads one
// connection with: its limit is max, and its last event ID buffer starts at
// lastID, the ID the EventSource had stored when it connected.
func NewConnectionDecoder(r io.Reader, max int, lastID string) *Decoder {
	d := new(Decoder)
	d.reset(r, max, lastID)
	return d
}

// SetLongData makes d read data lines of n bytes or more, which the read
// buffer does not hold whole, straight into a data buffer, as it does for
// long lines, so that short inputs test that path too.
func SetLongData(d *Decoder, n int) { d.longData = n }

// RetryAfter exposes retryAfter.
func RetryAfter(h http.Header, now time.Time) time.Duration { return retryAfter(h, now) }

// UniformJitter exposes the default jitter.
func UniformJitter(d time.Duration) time.Duration { return uniformJitter(d) }

// ErrRunTwice is the error of a second call of Run.
var ErrRunTwice = errRunTwice

// SuccessAfter is how long a connection must stay open to reset the backoff.
const SuccessAfter = successAfter

// WithJitter replaces the random jitter of the backoff.
func WithJitter(fn func(time.Duration) time.Duration) Option {
	return Option{func(c *config) { c.jitter = fn }}
}

// WithClock makes the EventSource use c instead of the wall clock for its
// timers (reconnection waits and the idle timeout) and for Now.
func WithClock(c *FakeClock) Option {
	return Option{func(cfg *config) {
		cfg.now = c.Now
		cfg.afterFunc = func(d time.Duration, f func()) timer { return c.afterFunc(d, f) }
	}}
}

// A FakeClock is a clock that moves only when the test says so. Every timer
// an EventSource creates on it is recorded, and sent on Timers.
type FakeClock struct {
	autoFire bool
	timers   chan *FakeTimer

	mu        sync.Mutex // guards now, durations
	now       time.Time
	durations []time.Duration
}

// NewFakeClock returns a FakeClock at a fixed time. With autoFire, each
// timer fires as soon as it is created (a reconnection wait passes at
// once); without, it fires when the test calls Fire.
func NewFakeClock(autoFire bool) *FakeClock {
	return &FakeClock{
		autoFire: autoFire,
		timers:   make(chan *FakeTimer, 4096),
		now:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock's time forward by d. It fires no timer.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Durations returns the duration of every timer created so far, in order.
func (c *FakeClock) Durations() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.durations...)
}

// Timers delivers every timer created, in order.
func (c *FakeClock) Timers() <-chan *FakeTimer { return c.timers }

func (c *FakeClock) afterFunc(d time.Duration, f func()) timer {
	t := &FakeTimer{D: d, f: f}
	c.mu.Lock()
	c.durations = append(c.durations, d)
	c.mu.Unlock()
	select {
	case c.timers <- t:
	default:
		panic("FakeClock: more than 4096 timers not received from Timers")
	}
	if c.autoFire {
		// The wait passes, and so does its time.
		c.Advance(d)
		t.Fire()
	}
	return t
}

// A FakeTimer is a timer of a FakeClock.
type FakeTimer struct {
	D time.Duration // the duration it was created with

	f       func()
	mu      sync.Mutex // guards stopped, resets
	stopped bool
	resets  int
}

// Fire runs the timer's function, unless it was stopped, and reports
// whether it ran.
func (t *FakeTimer) Fire() bool {
	t.mu.Lock()
	stopped := t.stopped
	t.stopped = true
	t.mu.Unlock()
	if stopped {
		return false
	}
	t.f()
	return true
}

// Resets returns how many times the timer was reset.
func (t *FakeTimer) Resets() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resets
}

// Stop implements timer.
func (t *FakeTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Reset implements timer.
func (t *FakeTimer) Reset(time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := !t.stopped
	t.stopped = false
	t.resets++
	return was
}

// WithErrorBodyTimeout shortens the time allowed to read the body of an
// error response.
func WithErrorBodyTimeout(d time.Duration) Option {
	return Option{func(c *config) { c.errorBodyTimeout = d }}
}

// DecoderHeld returns the bytes that d's buffers hold: the read buffer, the
// data buffer, the block of small strings, and the type and ID buffers.
func DecoderHeld(d *Decoder) int {
	return cap(d.buf) + cap(d.data) + d.slab.Cap() + cap(d.typ) + cap(d.id)
}

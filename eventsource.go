// This file holds the EventSource type: New, its getters, Close, Run and
// Events. The connection attempt is in conn.go, the retry loop in
// reconnect.go, the callbacks in handlers.go.

package eventsource

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
)

// An Event is one event of a stream.
type Event struct {
	Type string // the event type; "message" when the stream named none
	Data string // the data lines joined with "\n"
	ID   string // the last event ID in effect when the event was dispatched
}

// A ReadyState is the state of an [EventSource] connection, as in browsers.
type ReadyState int

const (
	// Connecting is the state before the first connection opens, and while
	// the client waits to reconnect or reconnects.
	Connecting ReadyState = 0
	// Open means a connection is open and delivers events.
	Open ReadyState = 1
	// Closed means Close was called, Run returned, or the stream ended for
	// good.
	Closed ReadyState = 2
)

// String returns the name of the state: "Connecting", "Open" or "Closed".
func (s ReadyState) String() string {
	switch s {
	case Connecting:
		return "Connecting"
	case Open:
		return "Open"
	case Closed:
		return "Closed"
	}
	return fmt.Sprintf("ReadyState(%d)", int(s))
}

// An EventSource is a client for one Server-Sent Events stream. Make it with
// [New], set its callbacks, and call [EventSource.Run]. An EventSource runs
// once; it must not be copied.
type EventSource struct {
	url    string
	cfg    config
	client *http.Client // cfg.client, copied, with our CheckRedirect

	// sharesHeader: requests without a Last-Event-ID may share cfg.header,
	// for no code but net/http's own sees them, and it never writes to
	// the header map of a request it sends: no hook, no cookie jar, no
	// RoundTripper but *http.Transport (a RoundTripper should not change
	// the request, but some do). A map a request holds costs a few hundred
	// bytes a stream, for as long as the stream lasts.
	sharesHeader bool

	readyState atomic.Int32
	handlers   atomic.Pointer[handlers] // copy-on-write; replaced under hmu

	hmu sync.Mutex // serializes changes of handlers

	mu      sync.Mutex // guards started, runDone, closeWins, attempt; Close sets closed under it
	started bool
	// closed is set by Close, and read without mu where callbacks are
	// about to run. Run has no context of its own: Close cancels the
	// attempt under way (whose context is a child of Run's) and wakes a
	// wait between attempts. A context more per stream would cost a few
	// hundred bytes (its done channel, and the map of its children).
	closed    atomic.Bool
	runDone   <-chan struct{}         // the Done channel of Run's context
	closeWins bool                    // Close came before Run's context ended: Run returns nil
	attempt   context.CancelCauseFunc // cancels the attempt under way, if any

	wake chan struct{} // a Reconnect or Close between attempts; 1-buffered

	dec *Decoder // the Decoder of the connection; used by Run's goroutine only

	idMu        sync.Mutex // guards lastEventID
	lastEventID string

	stats stats

	// sink receives each event after the callbacks, for Events. Set once,
	// under mu, when Run starts; read only by Run's goroutine.
	sink func(Event) bool
}

// New returns an EventSource for url, configured by opts. It checks the URL
// (http or https, with a host) and the options, and returns an error naming
// the first problem; it does not connect.
func New(rawURL string, opts ...Option) (*EventSource, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// Not the *url.Error itself: its text repeats the URL, secrets
		// included.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("eventsource: invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("eventsource: invalid URL %q: the scheme must be http or https", redactURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("eventsource: invalid URL %q: no host", redactURL(u))
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, fmt.Errorf("eventsource: %w", cfg.errs[0])
	}
	// Every request carries these headers, unless WithHeader replaced or
	// removed them; newRequest adds Last-Event-ID, which WithHeader refuses.
	if cfg.header == nil {
		cfg.header = defaultHeader
	} else {
		for key, values := range defaultHeader {
			if _, set := cfg.header[key]; !set {
				cfg.header[key] = values
			}
		}
		for key, values := range cfg.header {
			if values == nil {
				delete(cfg.header, key) // removed with WithHeader(key, "")
			}
		}
	}
	es := &EventSource{
		url:         u.String(),
		cfg:         cfg,
		lastEventID: cfg.lastEventID,
	}
	client := *cfg.client
	client.CheckRedirect = checkRedirect(cfg.client.CheckRedirect)
	es.client = &client
	_, netHTTP := client.Transport.(*http.Transport)
	es.sharesHeader = client.Jar == nil && (client.Transport == nil || netHTTP) &&
		cfg.requestHook == nil && cfg.responseHook == nil
	es.handlers.Store(&handlers{})
	es.wake = make(chan struct{}, 1)
	return es, nil
}

// ReadyState returns the state of the connection: Connecting, Open or
// Closed. It is safe from any goroutine.
func (es *EventSource) ReadyState() ReadyState { return ReadyState(es.readyState.Load()) }

// LastEventID returns the last event ID: the one sent in the Last-Event-ID
// header of the next reconnection (unless it holds a control character
// other than tab, which a header cannot carry: then none is sent). It starts as [WithLastEventID] and changes
// when the stream dispatches an event or a block with an "id:" field. Store
// it to resume later. It is safe from any goroutine.
func (es *EventSource) LastEventID() string {
	es.idMu.Lock()
	defer es.idMu.Unlock()
	return es.lastEventID
}

// URL returns the URL of the stream, as given to [New] after parsing.
func (es *EventSource) URL() string { return es.url }

// Close stops the EventSource: ReadyState becomes Closed at once, the
// request in flight is cancelled, and Run returns nil. A callback that calls
// Close is the last one to run; called from another goroutine, Close lets a
// callback already under way finish. Close may be called
// from any goroutine, also from inside a callback, before, during or after
// Run, any number of times. It always returns nil.
func (es *EventSource) Close() error {
	es.mu.Lock()
	defer es.mu.Unlock()
	if !es.closed.Load() {
		es.closeWins = !isDone(es.runDone)
	}
	es.closed.Store(true)
	es.readyState.Store(int32(Closed))
	if es.attempt != nil {
		es.attempt(errClosed)
	}
	select {
	case es.wake <- struct{}{}: // ends a wait between attempts
	default:
	}
	return nil
}

// Reconnect drops the connection and reconnects. The attempt under way,
// connected or still connecting, ends with an error wrapping cause (or
// saying that Reconnect was called, when cause is nil), which reaches
// [EventSource.OnError] and the retry policy like any other failure: the
// backoff applies, unless cause wraps [ErrRetryNow]. The connection
// counts as a failure in a row, whatever it delivered, so that a server
// that sends a bad event every time meets the backoff and
// [WithMaxRetries]. Events that arrived
// but were not yet dispatched are dropped; the reconnection's Last-Event-ID
// asks the server for them again. Called from a callback, it lets the
// callbacks of the event under way finish.
//
// Called while no attempt is under way, from OnError or during the wait
// before a reconnection, it ends that wait at once, and cause is not
// reported. It has no effect before Run, after Run returned, or after Close.
// Reconnect may be called from any goroutine.
func (es *EventSource) Reconnect(cause error) {
	if cause == nil {
		cause = errReconnectRequested
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	if !es.started || es.closed.Load() {
		return
	}
	if es.attempt != nil {
		es.attempt(&reconnectError{cause})
		return
	}
	select {
	case es.wake <- struct{}{}:
	default:
	}
}

// setAttempt records the cancel function of the attempt under way, or nil
// when it ended. A Reconnect made before the attempt began is used up: the
// attempt is the reconnection it asked for.
func (es *EventSource) setAttempt(cancel context.CancelCauseFunc) {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.attempt = cancel
	if cancel != nil {
		if es.closed.Load() {
			cancel(errClosed)
			return
		}
		select {
		case <-es.wake:
		default:
		}
	}
}

// Run connects and dispatches events to the callbacks, on the calling
// goroutine, reconnecting as the package doc describes, until one of:
//
//   - Close is called: Run returns nil;
//   - ctx ends: Run returns ctx.Err();
//   - the stream ends for good (a status or error that is not retried, or
//     the [WithMaxRetries] limit): Run returns that error.
//
// When Run returns, the connection is closed and no goroutine of it is left.
// Run may be called once; a second call returns an error at once. After
// Close, Run returns nil at once.
func (es *EventSource) Run(ctx context.Context) error {
	return es.run(ctx, nil)
}

// run is Run, with sink receiving each event after the callbacks.
func (es *EventSource) run(ctx context.Context, sink func(Event) bool) error {
	es.mu.Lock()
	if es.started {
		es.mu.Unlock()
		return errRunTwice
	}
	es.started = true
	es.sink = sink
	if es.closed.Load() {
		es.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		// No request leaves, so none is counted or prepared.
		es.mu.Unlock()
		es.readyState.Store(int32(Closed))
		return err
	}
	es.runDone = ctx.Done()
	es.mu.Unlock()
	defer es.readyState.Store(int32(Closed))

	err := es.loop(ctx)
	es.mu.Lock()
	closed, closeWins := es.closed.Load(), es.closeWins
	es.runDone = nil
	es.mu.Unlock()
	switch {
	case closed && closeWins:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

// stopped reports whether callbacks must stop: Close was called, or Run's
// context, whose Done channel is runDone, ended.
func (es *EventSource) stopped(runDone <-chan struct{}) bool {
	return es.closed.Load() || isDone(runDone)
}

// Events runs the EventSource, like [EventSource.Run], and returns its
// events as an iterator for use with range:
//
//	for ev, err := range es.Events(ctx) {
//		if err != nil {
//			return err // the stream ended for good
//		}
//		fmt.Println(ev.Data)
//	}
//
// The loop body runs on the calling goroutine, after the callbacks of each
// event, with the same guarantees: every event once, in stream order,
// across reconnections. Failures that are retried go to
// [EventSource.OnError] and not to the loop; the error that ends the stream
// for good is yielded once, last, with an empty Event. Breaking out of the
// loop closes the EventSource, and the loop ends without an error after
// Close or when ctx ends. Like Run, Events may be used once.
func (es *EventSource) Events(ctx context.Context) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		stopped := false
		sink := func(ev Event) bool {
			stopped = !yield(ev, nil)
			return !stopped
		}
		if err := es.run(ctx, sink); err != nil && !stopped && ctx.Err() == nil {
			yield(Event{}, err)
		}
	}
}

// log writes a record to the logger of WithLogger, if any.
func (es *EventSource) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if l := es.cfg.logger; l != nil {
		l.Log(ctx, level, msg, args...)
	}
}

// setState changes the ready state, unless Close made it Closed.
func (es *EventSource) setState(s ReadyState) {
	for {
		old := es.readyState.Load()
		if old == int32(Closed) && s != Closed {
			return
		}
		if es.readyState.CompareAndSwap(old, int32(s)) {
			return
		}
	}
}

func (es *EventSource) setLastEventID(id string) {
	es.idMu.Lock()
	es.lastEventID = id
	es.idMu.Unlock()
}

// Package eventsource implements a client for Server-Sent Events (the WHATWG
// EventSource).
//
// There are two ways in. For a long-lived feed (a ticker, a change feed,
// notifications), [New] makes an [EventSource] and [EventSource.Run] connects,
// dispatches each event to the callbacks, and reconnects when the connection
// drops, sending the Last-Event-ID header so the server can resume:
//
//	es, err := eventsource.New("https://example.com/events")
//	if err != nil { … }
//	es.OnMessage(func(ev eventsource.Event) { fmt.Println(ev.Data) })
//	err = es.Run(ctx) // blocks until ctx ends, Close, or a final error
//
// For a one-shot stream, such as an LLM API that answers a POST with a
// stream ending in "data: [DONE]", make the request yourself and read the
// body with [NewDecoder]. An EventSource would reconnect when that stream
// ends, and send the POST again.
//
// The API follows the browser's:
//
//	JavaScript                          Go
//	new EventSource(url)                eventsource.New(url, opts...) then es.Run(ctx)
//	es.onopen = fn                      es.OnOpen(fn)
//	es.onmessage = fn                   es.OnMessage(fn)
//	es.onerror = fn                     es.OnError(fn)
//	es.addEventListener(type, fn)       remove := es.AddEventListener(type, fn)
//	es.removeEventListener(type, fn)    remove()
//	es.close()                          es.Close()
//	es.readyState                       es.ReadyState()
//	es.url                              es.URL()
//	event.data, event.lastEventId       ev.Data, ev.ID
//
// # Reconnection
//
// Network errors, a clean end of stream, [ErrIdleTimeout], and the statuses
// 5xx, 408 and 429 are retried; a Retry-After header is honoured as the
// least wait, up to an hour ([WithMaxRetryAfter]). A 204 ([ErrNoContent]), a
// 1xx as the final response, a response that is not
// text/event-stream ([ErrContentType]), an event larger than the limit
// ([ErrEventTooLarge]) and any other status ([*StatusError]) end the stream:
// the server would answer the same way again. [WithRetryPolicy] changes that.
//
// The wait before reconnection n (failures in a row, from 0) is
// min(base×2ⁿ, 30s) plus a random jitter of up to half of that, where base is
// the reconnection time: 3s, or [WithRetry], or what the server's "retry:"
// field says. A connection that delivers an event, or stays open 60 s,
// resets n. Whatever the server does, attempts start at least 250 ms apart,
// so a server that answers "retry: 0", one event and a close, again and
// again, gets four connections a second; a "retry: 0" stream that drops now
// and then still reconnects at once. Retries never stop by themselves;
// [WithMaxRetries] sets a limit. Every failed attempt and every dropped
// connection reaches [EventSource.OnError].
//
// # Limits
//
// A line, and the data of one event, may be at most 16 MiB
// ([WithMaxEventSize], [Decoder.SetMaxEventSize]); a longer one is
// [ErrEventTooLarge], and the client never holds more than about that much
// per connection, whatever the server sends; between events, a stream holds
// its last event ID and small buffers, whatever types, IDs and comments came
// before. Invalid UTF-8 becomes U+FFFD. The body of an error response is
// read for [StatusError.Body] for 5 s at most.
//
// # Concurrency
//
// Run blocks; the goroutine that calls it reads the stream and runs every
// callback, one at a time, in stream order. Run starts no goroutine of its
// own that outlives it. Callbacks and listeners may be set, added and
// removed from any goroutine at any time, also while Run runs and from
// inside a callback. [EventSource.Close], [EventSource.ReadyState],
// [EventSource.LastEventID] and [EventSource.URL] are safe from any
// goroutine.
package eventsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
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
	logURL string // the URL without credentials, query or fragment, for errors
	cfg    config
	client *http.Client // cfg.client, copied, with our CheckRedirect

	readyState atomic.Int32
	handlers   atomic.Pointer[handlers] // copy-on-write; replaced under hmu

	hmu sync.Mutex // serializes changes of handlers

	mu      sync.Mutex // guards started, closed, cancel
	started bool
	closed  bool
	cancel  context.CancelCauseFunc

	idMu        sync.Mutex // guards lastEventID
	lastEventID string

	stats stats

	// sink receives each event after the callbacks, for Events. Set once,
	// under mu, when Run starts; read only by Run's goroutine.
	sink func(Event) bool
}

// handlers is one immutable snapshot of the callbacks and listeners. A
// dispatch uses the snapshot it loaded, whatever changes meanwhile.
type handlers struct {
	onOpen    func()
	onMessage func(Event)
	onError   func(error)
	onEvent   func(Event)
	onComment func(string)
	listeners []typeListeners // in the order their types were first added
}

type typeListeners struct {
	eventType string
	fns       []*listener // in the order they were added
}

// listener is a pointer so that remove finds exactly the one it added.
// removed is set by remove before the snapshot changes, and checked just
// before each call, so that a dispatch that loaded an older snapshot does
// not call it after remove returned.
type listener struct {
	fn      func(Event)
	removed atomic.Bool
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
		if opt != nil {
			opt(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, fmt.Errorf("eventsource: %w", cfg.errs[0])
	}
	// Every request carries these headers, unless WithHeader replaced or
	// removed them; newRequest adds Last-Event-ID, which WithHeader refuses.
	for key, value := range map[string]string{"Accept": "text/event-stream", "Cache-Control": "no-cache"} {
		if _, set := cfg.header[key]; !set {
			cfg.header.Set(key, value)
		}
	}
	for key, values := range cfg.header {
		if values == nil {
			delete(cfg.header, key) // removed with WithHeader(key, "")
		}
	}
	es := &EventSource{
		url:         u.String(),
		logURL:      redactURL(u),
		cfg:         cfg,
		lastEventID: cfg.lastEventID,
	}
	client := *cfg.client
	client.CheckRedirect = checkRedirect(cfg.client.CheckRedirect)
	es.client = &client
	es.handlers.Store(&handlers{})
	return es, nil
}

// OnOpen sets the function called each time a connection opens, before its
// first event. A nil fn removes it.
func (es *EventSource) OnOpen(fn func()) {
	es.update(func(h *handlers) { h.onOpen = fn })
}

// OnMessage sets the function called for each event of type "message": the
// events whose block had no "event:" field. A nil fn removes it.
func (es *EventSource) OnMessage(fn func(Event)) {
	es.update(func(h *handlers) { h.onMessage = fn })
}

// OnError sets the function called for every failed attempt to connect and
// every dropped connection (a clean end of stream included), with the
// reason. During fn, [EventSource.ReadyState] is Connecting when a
// reconnection follows and Closed when none does, and
// [EventSource.Stats] tells the wait before that reconnection. It is not
// called for Close or the end of Run's context. A nil fn removes it.
//
// An event of type "error" sent by the server is an ordinary event: listen
// for it with AddEventListener("error", …).
func (es *EventSource) OnError(fn func(error)) {
	es.update(func(h *handlers) { h.onError = fn })
}

// OnEvent sets the function called for every event, whatever its type,
// before OnMessage and the listeners. A nil fn removes it.
func (es *EventSource) OnEvent(fn func(Event)) {
	es.update(func(h *handlers) { h.onEvent = fn })
}

// OnComment sets the function called for each comment line of the stream
// (heartbeats are often comments), with the text after the ':' and one
// leading space removed. A nil fn removes it.
func (es *EventSource) OnComment(fn func(comment string)) {
	es.update(func(h *handlers) { h.onComment = fn })
}

// AddEventListener adds fn to the functions called for events of
// eventType, after those added before. Adding the same fn twice calls it
// twice. The returned function removes this listener; it is idempotent and
// safe from any goroutine, also from inside a callback. Once it returns, fn
// is never called again; a call that Run's goroutine had already begun may
// still be running when it returns from another goroutine.
func (es *EventSource) AddEventListener(eventType string, fn func(Event)) (remove func()) {
	l := &listener{fn: fn}
	es.update(func(h *handlers) {
		// The old snapshot may be dispatching: copy what changes.
		h.listeners = slices.Clone(h.listeners)
		for i, tl := range h.listeners {
			if tl.eventType == eventType {
				h.listeners[i].fns = append(slices.Clip(tl.fns), l)
				return
			}
		}
		h.listeners = append(h.listeners, typeListeners{eventType, []*listener{l}})
	})
	return func() { es.removeListener(eventType, l) }
}

func (es *EventSource) removeListener(eventType string, l *listener) {
	l.removed.Store(true)
	es.update(func(h *handlers) {
		for i, tl := range h.listeners {
			if tl.eventType != eventType {
				continue
			}
			if j := slices.Index(tl.fns, l); j >= 0 {
				h.listeners = slices.Clone(h.listeners)
				h.listeners[i].fns = slices.Delete(slices.Clone(tl.fns), j, j+1)
			}
			return
		}
	})
}

// update replaces the handlers with a changed copy. The slices in the copy
// are shared with the old snapshot: change must copy any it modifies.
func (es *EventSource) update(change func(*handlers)) {
	es.hmu.Lock()
	defer es.hmu.Unlock()
	h := *es.handlers.Load()
	change(&h)
	es.handlers.Store(&h)
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
	es.closed = true
	cancel := es.cancel
	es.readyState.Store(int32(Closed))
	es.mu.Unlock()
	if cancel != nil {
		cancel(errClosed)
	}
	return nil
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
	if es.closed {
		es.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		// No request leaves, so none is counted or prepared.
		es.mu.Unlock()
		es.readyState.Store(int32(Closed))
		return err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	es.cancel = cancel
	es.mu.Unlock()
	defer es.readyState.Store(int32(Closed))
	defer cancel(nil)

	err := es.loop(runCtx)
	switch {
	case errors.Is(context.Cause(runCtx), errClosed):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return err
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

// Stats is a snapshot of an EventSource's counters, for metrics.
type Stats struct {
	Connections   int64         // requests made: the first, and each reconnection
	Reconnections int64         // reconnections started after a failure or a drop
	Events        int64         // events dispatched, counted by the time Run waits for the network
	Bytes         int64         // bytes of stream bodies read
	LastError     error         // the last error that reached OnError, or nil
	RetryDelay    time.Duration // the wait before the pending or last reconnection
}

// Stats returns a snapshot of the counters. It is safe from any goroutine,
// at any time.
func (es *EventSource) Stats() Stats {
	return es.stats.snapshot()
}

// stats holds the counters behind [EventSource.Stats].
type stats struct {
	connections   atomic.Int64
	reconnections atomic.Int64
	events        atomic.Int64
	bytes         atomic.Int64

	mu         sync.Mutex // guards lastError, retryDelay
	lastError  error
	retryDelay time.Duration
}

func (s *stats) setError(err error, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastError, s.retryDelay = err, delay
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Connections:   s.connections.Load(),
		Reconnections: s.reconnections.Load(),
		Events:        s.events.Load(),
		Bytes:         s.bytes.Load(),
		LastError:     s.lastError,
		RetryDelay:    s.retryDelay,
	}
}

// log writes a record to the logger of WithLogger, if any.
func (es *EventSource) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if l := es.cfg.logger; l != nil {
		l.Log(ctx, level, msg, args...)
	}
}

// An attempt is what one connection attempt tells the retry loop.
type attempt struct {
	ok       bool          // it counted as a success: it dispatched an event or stayed open successAfter
	retry    time.Duration // the reconnection time the stream asked for, when retrySet
	retrySet bool          // the stream sent a valid "retry:" field
	err      error         // why it ended
}

// connect makes one attempt and, when it opens, reads the stream until it
// ends.
func (es *EventSource) connect(ctx context.Context) (a attempt) {
	// Callbacks stop when Run's context ends, not when the connection's
	// does: an idle timeout during a callback lets the event finish.
	done := ctx.Done()
	// The idle timer needs a context of the connection's own to cancel;
	// without one, an idle stream holds a context less.
	var cancel context.CancelCauseFunc
	if es.cfg.idleTimeout > 0 {
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
	}
	resp, idle, err := es.open(ctx, cancel)
	if idle != nil {
		defer idle.Stop()
	}
	if err != nil {
		return attempt{err: err}
	}
	defer resp.Body.Close()

	opened := es.cfg.now()
	es.setState(Open)
	if idle != nil {
		idle.Reset(es.cfg.idleTimeout)
	}
	if fn := es.handlers.Load().onOpen; fn != nil {
		fn()
		if isDone(done) {
			return attempt{err: ctx.Err()}
		}
	}
	body := &bodyReader{r: resp.Body, stats: &es.stats, idle: idle, d: es.cfg.idleTimeout}
	defer body.flush()
	lastID := es.LastEventID()
	dec := newStreamDecoder(body, es.cfg.maxEventSize, lastID)
	dec.comment = func(line []byte) {
		if fn := es.handlers.Load().onComment; fn != nil && !isDone(done) {
			fn(validString(line))
		}
	}
	for {
		ev, err := dec.Next()
		a.retry, a.retrySet = dec.Retry()
		if id := dec.LastEventID(); id != lastID {
			lastID = id
			es.setLastEventID(id)
		}
		if err != nil {
			a.ok = a.ok || es.cfg.now().Sub(opened) >= successAfter
			if err == io.EOF {
				err = errStreamEnded
			}
			a.err = es.requestError(connError(ctx, err))
			return a
		}
		a.ok = true
		body.events++
		if !es.dispatch(&ev, done) {
			a.err = ctx.Err()
			return a
		}
	}
}

// open sends the request of one attempt, and returns its response once it
// is a stream, with the idle timer started if cancel is set. It is apart
// from connect so that its stack frame is gone while the stream is read:
// an idle stream's goroutine holds as little stack as it can.
func (es *EventSource) open(ctx context.Context, cancel context.CancelCauseFunc) (*http.Response, timer, error) {
	req, err := es.newRequest(ctx)
	if err != nil {
		return nil, nil, es.requestError(err)
	}
	var idle timer
	if cancel != nil {
		idle = es.cfg.afterFunc(es.cfg.idleTimeout, func() { cancel(ErrIdleTimeout) })
	}
	es.stats.connections.Add(1)
	es.log(ctx, slog.LevelDebug, "connecting", "method", es.cfg.method, "url", es.logURL, "last_event_id_set", req.Header.Get("Last-Event-ID") != "")
	resp, err := es.client.Do(req)
	if err != nil {
		return nil, idle, es.requestError(connError(ctx, err))
	}
	if err := es.checkResponse(ctx, resp); err != nil {
		resp.Body.Close()
		return nil, idle, es.requestError(err)
	}
	es.log(ctx, slog.LevelInfo, "connected", "url", es.logURL, "proto", resp.Proto)
	return resp, idle, nil
}

// newRequest builds the request of one attempt, and runs the request hook.
func (es *EventSource) newRequest(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if es.cfg.body != nil {
		body = bytes.NewReader(es.cfg.body)
	}
	req, err := http.NewRequestWithContext(ctx, es.cfg.method, es.url, body)
	if err != nil {
		return nil, err
	}
	// Every request has a header map of its own: net/http adds a cookie
	// jar's cookies to it, and a shared map would keep them all.
	req.Header = es.cfg.header.Clone()
	// An ID with a control character cannot go in a header: sending it
	// would fail every attempt, so the request goes without, as a first
	// connection does.
	if id := es.LastEventID(); id != "" && validHeaderValue(id) {
		req.Header.Set("Last-Event-ID", id)
	}
	if hook := es.cfg.requestHook; hook != nil {
		if err := hook(req); err != nil {
			return nil, fmt.Errorf("%w: %w", errHook, err)
		}
	}
	return req, nil
}

// checkResponse turns a response that is not a stream into its error.
func (es *EventSource) checkResponse(ctx context.Context, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
		ct := resp.Header.Get("Content-Type")
		mediaType, _, _ := strings.Cut(ct, ";")
		if mediaType = strings.TrimSpace(mediaType); !strings.EqualFold(mediaType, "text/event-stream") {
			if len(mediaType) > 64 {
				mediaType = mediaType[:64]
			}
			return fmt.Errorf("%w: got %q", ErrContentType, validString([]byte(mediaType)))
		}
		return nil
	case http.StatusNoContent:
		return ErrNoContent
	}
	err := &StatusError{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		RetryAfter: retryAfter(resp.Header, es.cfg.now()),
	}
	// After a 1xx final response (101 Switching Protocols) the body is the
	// raw connection, which no context cancels: it is not read.
	if resp.StatusCode >= 200 {
		err.Body = es.readSnippet(ctx, resp.Body)
	}
	return err
}

// dispatch runs the callbacks for ev, in the order the package promises,
// and checks done before each, so that none starts after a Close made from
// a callback. It reports whether done was still open.
func (es *EventSource) dispatch(ev *Event, done <-chan struct{}) bool {
	h := es.handlers.Load()
	if h.onEvent != nil {
		if isDone(done) {
			return false
		}
		h.onEvent(*ev)
	}
	if ev.Type == "message" && h.onMessage != nil {
		if isDone(done) {
			return false
		}
		h.onMessage(*ev)
	}
	for i := range h.listeners {
		if h.listeners[i].eventType != ev.Type {
			continue
		}
		for _, l := range h.listeners[i].fns {
			if isDone(done) {
				return false
			}
			if !l.removed.Load() {
				l.fn(*ev)
			}
		}
		break
	}
	if es.sink != nil && !isDone(done) && !es.sink(*ev) {
		es.Close()
	}
	return !isDone(done)
}

func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
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

// requestError wraps err with the request it ended, once.
func (es *EventSource) requestError(err error) error {
	return &requestError{method: es.cfg.method, url: es.logURL, err: err}
}

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
	return fmt.Sprintf("eventsource: giving up after %d reconnections in a row: %s",
		e.reconnections, strings.TrimPrefix(e.err.Error(), "eventsource: "))
}

func (e *giveUpError) Unwrap() error { return e.err }

var (
	// errStreamEnded is a clean end of stream: the server closed it.
	errStreamEnded = fmt.Errorf("stream ended: %w", io.EOF)
	// errHook marks an error of the request hook, which is never retried.
	errHook = errors.New("request hook")
)

// connError returns why a request or a read on ctx failed: the idle timeout
// when it cancelled ctx, else err without net/http's *url.Error, whose text
// repeats the URL.
func connError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrIdleTimeout) {
		return cause
	}
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL returns u without its user info, query and fragment.
func redactURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	return v.String()
}

// readSnippet reads the first KiB of an error response's body, cut at a
// UTF-8 boundary, for an error message. The read ends when ctx does (Close,
// the caller's context, the idle timeout), and after errorBodyTimeout in any
// case: it closes the body, which unblocks a Read in flight.
func (es *EventSource) readSnippet(ctx context.Context, body io.ReadCloser) string {
	ctx, cancel := context.WithTimeout(ctx, es.cfg.errorBodyTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { body.Close() })
	defer stop()
	buf := make([]byte, 1024)
	n, _ := io.ReadFull(body, buf)
	buf = buf[:n]
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				buf = buf[:i]
			}
			break
		}
	}
	return validString(buf)
}

// bodyReader counts the bytes of a response body, and resets the idle
// timer, if any, on every read that returns some. It also publishes the
// count of events dispatched, before each read rather than after each event,
// which saves a locked instruction per event.
type bodyReader struct {
	r      io.Reader
	stats  *stats
	events int64 // dispatched and not yet added to stats.events
	idle   timer
	d      time.Duration
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.flush()
	n, err := r.r.Read(p)
	if n > 0 {
		r.stats.bytes.Add(int64(n))
		if r.idle != nil {
			r.idle.Reset(r.d)
		}
	}
	return n, err
}

func (r *bodyReader) flush() {
	if r.events > 0 {
		r.stats.events.Add(r.events)
		r.events = 0
	}
}

// checkRedirect returns the CheckRedirect of the client's copy: it keeps
// custom headers only while every hop has the origin of the first request,
// then runs the caller's own CheckRedirect, or stops after 10 hops.
func checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !sameOriginChain(via[0].URL, req, via) {
			for key := range req.Header {
				switch key {
				case "Accept", "Cache-Control", "Last-Event-Id":
				default:
					delete(req.Header, key)
				}
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return ErrTooManyRedirects
		}
		return nil
	}
}

// sameOriginChain reports whether req and every hop before it share the
// origin of first.
func sameOriginChain(first *url.URL, req *http.Request, via []*http.Request) bool {
	origin := originOf(first)
	if originOf(req.URL) != origin {
		return false
	}
	for _, r := range via {
		if originOf(r.URL) != origin {
			return false
		}
	}
	return true
}

// originOf returns u's scheme, host and port, with the default port made
// explicit.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

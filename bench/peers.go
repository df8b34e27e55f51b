package main

import (
	"context"
	"io"
	"net/http"

	donovanhide "github.com/donovanhide/eventsource"
	launchdarkly "github.com/launchdarkly/eventsource"
	r3labs "github.com/r3labs/sse/v2"
	gosse "github.com/tmaxmax/go-sse"
	"gopkg.in/cenkalti/backoff.v1"
)

// A library is one subject of the benchmark: an SSE library seen through an
// adapter, or a floor that no SSE library can beat.
type library struct {
	name  string // as printed
	short string // as given to -libs
	kind  kind
	// lingers says that the library's client leaves a goroutine behind for
	// a while after it stopped, so the check for leftovers skips it.
	lingers bool

	// parse runs the library's own parser over r until the end of the input,
	// and reports every event to s.
	parse func(r io.Reader, s *sink) error
	// stream runs the library's client against url, reports every event to
	// s and stops the client once s is full or the library has seen the
	// stream end. It returns nil when s is full and the client stopped.
	stream func(ctx context.Context, hc *http.Client, url string, s *sink) error
	// scale, for a floor of the scale mode only, reads one stream until
	// ctx ends or the stream does, and counts its ticks in c. Libraries run
	// there through stream, with c's sink.
	scale func(ctx context.Context, hc *http.Client, url string, c *streamCheck) error
}

// kind tells our library, its peers and the floors apart.
type kind int

const (
	ours kind = iota
	peer
	floor
	// bound is a floor for clients that give each event's data memory of
	// its own: end to end only.
	bound
)

// reference reports whether k is a floor or a bound, which count bytes or
// lines rather than report events.
func (k kind) reference() bool { return k == floor || k == bound }

// peerMaxEventSize is the event size limit given to every peer that has a
// setting for it: the 16 MiB our library uses by default, so that the large
// workload measures speed rather than defaults. The -peer-defaults flag sets
// it to 0, which leaves each peer at its own default.
var peerMaxEventSize = 16 << 20

// libraries returns every subject, ours first and the floors last.
func libraries() []*library {
	return []*library{
		{name: "go-eventsource (ours)", short: "ours", kind: ours, parse: oursParse, stream: oursStream},
		{name: "tmaxmax/go-sse", short: "go-sse", kind: peer, parse: goSSEParse, stream: goSSEStream},
		{name: "launchdarkly/eventsource", short: "launchdarkly", kind: peer, parse: launchDarklyParse, stream: launchDarklyStream},
		{name: "donovanhide/eventsource", short: "donovanhide", kind: peer, lingers: true, parse: donovanHideParse, stream: donovanHideStream},
		{name: "r3labs/sse", short: "r3labs", kind: peer, parse: r3labsParse, stream: r3labsStream},
		{name: "floor", short: "floor", kind: floor, parse: floorParse, stream: floorStream},
		{name: "bound: a slice per event", short: "bound", kind: bound, stream: boundStream},
		{name: "raw: net/http, Read into 512 B", short: "raw", kind: floor, scale: rawScale},
	}
}

// named maps a peer's empty event type to "message". go-sse, r3labs,
// launchdarkly and donovanhide all document that they report the raw type
// buffer, which is empty for an unnamed event, and the spec's dispatch step
// turns exactly that empty buffer into "message"; the mapping loses nothing,
// so it is an adapter's job and not a correctness failure. Our library must
// say "message" itself (see the Event type's doc), so its adapter does not
// use this.
func named(typ string) string {
	if typ == "" {
		return "message"
	}
	return typ
}

var message = []byte("message")

// namedBytes is named for byte slices.
func namedBytes(typ []byte) []byte {
	if len(typ) == 0 {
		return message
	}
	return typ
}

// goSSEParse uses go-sse's sse.Read, its parser for one-shot bodies.
func goSSEParse(r io.Reader, s *sink) error {
	var cfg *gosse.ReadConfig
	if peerMaxEventSize > 0 {
		cfg = &gosse.ReadConfig{MaxEventSize: peerMaxEventSize}
	}
	for ev, err := range gosse.Read(r, cfg) {
		if err != nil {
			return err
		}
		s.add(named(ev.Type), ev.Data, ev.LastEventID)
	}
	return nil
}

// goSSEStream uses a go-sse Connection with retries off (MaxRetries < 0), so
// that the end of the stream ends Connect.
func goSSEStream(ctx context.Context, hc *http.Client, url string, s *sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	c := &gosse.Client{HTTPClient: hc, Backoff: gosse.Backoff{MaxRetries: -1}}
	conn := c.NewConnection(req)
	if peerMaxEventSize > 0 {
		conn.Buffer(nil, peerMaxEventSize)
	}
	conn.SubscribeToAll(func(ev gosse.Event) {
		s.add(named(ev.Type), ev.Data, ev.LastEventID)
		if s.full() {
			cancel()
		}
	})
	err = conn.Connect()
	if s.full() {
		return nil
	}
	return err
}

// launchDarklyParse uses launchdarkly's Decoder, which has no size limit
// (it reads lines with ReadString).
func launchDarklyParse(r io.Reader, s *sink) error {
	return decodeAll(launchdarkly.NewDecoder(r).Decode, func(ev launchdarkly.Event) {
		s.add(named(ev.Event()), ev.Data(), ev.(launchdarkly.EventWithLastID).LastEventID())
	})
}

// decodeAll adds every event that next returns, until io.EOF, for the
// peers whose decoders have the same shape.
func decodeAll[E any](next func() (E, error), add func(E)) error {
	for {
		ev, err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		add(ev)
	}
}

// launchDarklyStream uses a launchdarkly Stream whose error handler closes
// it, so that the end of the stream closes the Events channel.
func launchDarklyStream(ctx context.Context, hc *http.Client, url string, s *sink) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	var streamErr error // written by the stream's goroutine before it closes Events
	stream, err := launchdarkly.SubscribeWithRequestAndOptions(req,
		launchdarkly.StreamOptionHTTPClient(hc),
		launchdarkly.StreamOptionErrorHandler(func(err error) launchdarkly.StreamErrorHandlerResult {
			streamErr = err
			return launchdarkly.StreamErrorHandlerResult{CloseNow: true}
		}))
	if err != nil {
		return err
	}
	for ev := range stream.Events {
		s.add(named(ev.Event()), ev.Data(), ev.(launchdarkly.EventWithLastID).LastEventID())
		if s.full() {
			stream.Close()
		}
	}
	if s.full() {
		return nil
	}
	return streamErr
}

// donovanHideParse uses donovanhide's Decoder. Its events carry their own
// id only, not the last one in effect; every workload that has ids puts one
// on each event, so that makes no difference here.
func donovanHideParse(r io.Reader, s *sink) error {
	return decodeAll(donovanhide.NewDecoder(r).Decode, func(ev donovanhide.Event) {
		s.add(named(ev.Event()), ev.Data(), ev.Id())
	})
}

// donovanHideStream uses a donovanhide Stream. Its Close closes the Events
// and Errors channels that its own goroutine sends on, so closing while that
// goroutine may still send panics: the adapter waits for the error that ends
// the stream (EOF, or the request's context ending) before it closes. The
// stream's goroutine then sleeps out its 3 s retry delay, sees the stream
// closed and exits.
func donovanHideStream(ctx context.Context, hc *http.Client, url string, s *sink) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := *hc // SubscribeWith sets the client's CheckRedirect
	stream, err := donovanhide.SubscribeWith("", &client, req)
	if err != nil {
		return err
	}
	defer stream.Close()
	for {
		select {
		case ev := <-stream.Events:
			s.add(named(ev.Event()), ev.Data(), ev.Id())
		case err := <-stream.Errors:
			if s.full() {
				return nil
			}
			return err
		}
	}
}

// r3labsParse runs r3labs' own read loop (EventStreamReader, then its
// unexported processEvent) over r: its only entry point is the Client, so
// the adapter hands the Client an http.Response whose body is r, through a
// RoundTripper that never touches the network.
func r3labsParse(r io.Reader, s *sink) error {
	c := newR3labsClient("http://in-memory/", &http.Client{Transport: bodyTransport{r}})
	return c.SubscribeRaw(func(msg *r3labs.Event) {
		s.addBytes(namedBytes(msg.Event), msg.Data, msg.ID)
	})
}

// r3labsStream uses an r3labs Client with retries off; r3labs ends a
// subscription without error at the end of the stream.
func r3labsStream(ctx context.Context, hc *http.Client, url string, s *sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := newR3labsClient(url, hc)
	err := c.SubscribeRawWithContext(ctx, func(msg *r3labs.Event) {
		s.addBytes(namedBytes(msg.Event), msg.Data, msg.ID)
		if s.full() {
			cancel()
		}
	})
	if s.full() {
		return nil
	}
	return err
}

func newR3labsClient(url string, hc *http.Client) *r3labs.Client {
	var opts []func(*r3labs.Client)
	if peerMaxEventSize > 0 {
		opts = append(opts, r3labs.ClientMaxBufferSize(peerMaxEventSize))
	}
	c := r3labs.NewClient(url, opts...)
	c.Connection = hc
	c.ReconnectStrategy = &backoff.StopBackOff{}
	return c
}

// bodyTransport answers every request with a 200 event stream whose body is
// the reader it holds.
type bodyTransport struct{ body io.Reader }

func (t bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(t.body),
		Request:    req,
	}, nil
}

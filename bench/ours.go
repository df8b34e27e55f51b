package main

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/go-eventsource/eventsource"
)

// oursParse runs our Decoder over r. Our events must say "message" for an
// unnamed event by themselves, so nothing is mapped.
func oursParse(r io.Reader, s *sink) error {
	dec := eventsource.NewDecoder(r)
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		s.add(ev.Type, ev.Data, ev.ID)
	}
}

// oursStream runs our EventSource, which never reconnects here
// (WithMaxRetries(0)), and closes it from OnEvent once s is full.
func oursStream(ctx context.Context, hc *http.Client, url string, s *sink) error {
	es, err := eventsource.New(url, eventsource.WithHTTPClient(hc), eventsource.WithMaxRetries(0))
	if err != nil {
		return err
	}
	es.OnEvent(func(ev eventsource.Event) {
		s.add(ev.Type, ev.Data, ev.ID)
		if s.full() {
			es.Close()
		}
	})
	err = es.Run(ctx)
	if s.full() {
		return err // nil after Close
	}
	if err == nil {
		err = errors.New("stream ended without an error before every event arrived")
	}
	return err
}

// oursWatch runs our EventSource against url until ctx ends, calling onOpen
// once the connection is established and onEvent for every event's data.
// It returns nil when ctx ended it.
func oursWatch(ctx context.Context, hc *http.Client, url string, onOpen func(), onEvent func(data string)) error {
	es, err := eventsource.New(url, eventsource.WithHTTPClient(hc), eventsource.WithMaxRetries(0))
	if err != nil {
		return err
	}
	if onOpen != nil {
		es.OnOpen(onOpen)
	}
	if onEvent != nil {
		es.OnEvent(func(ev eventsource.Event) { onEvent(ev.Data) })
	}
	if err := es.Run(ctx); ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		return err
	}
	return nil
}

// oursLimit runs our EventSource with WithMaxEventSize(max) until the
// stream ends for good, and reports how Run ended and whether that error
// wraps ErrEventTooLarge.
func oursLimit(ctx context.Context, hc *http.Client, url string, max int) (tooLarge bool, err error) {
	es, err := eventsource.New(url, eventsource.WithHTTPClient(hc), eventsource.WithMaxEventSize(max))
	if err != nil {
		return false, err
	}
	err = es.Run(ctx)
	return errors.Is(err, eventsource.ErrEventTooLarge), err
}

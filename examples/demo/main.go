// Demo shows what Server-Sent Events are and how an EventSource rides out a
// dropped connection without losing or repeating an event.
//
// It starts a small SSE server on loopback that sends ten temperature
// readings, one every 200ms. Each event is a few "field: value" lines ended
// by a blank line, and carries an id. In the middle of event 5 the server
// drops the connection. The client discards the half event, waits 500ms,
// reconnects with the header Last-Event-ID: 4, and the server resumes with
// event 5. At the end the demo checks that it received events 1 to 10 once
// each, in order, and exits with status 1 if not.
//
// Run it with
//
//	go run ./examples/demo
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-eventsource/eventsource"
)

const (
	total  = 10                     // events in the feed
	cutAt  = 5                      // the event the server drops the connection in
	pace   = 200 * time.Millisecond // between two events
	retry  = 500 * time.Millisecond // the client's reconnection delay
	maxRun = 10 * time.Second
)

var start = time.Now()

// say prints one line of the story: the time since the start, who speaks,
// and what happens.
func say(who, format string, args ...any) {
	fmt.Printf("%5.2fs  %-7s %s\n", time.Since(start).Seconds(), who+":", fmt.Sprintf(format, args...))
}

// reading is the data of event i.
func reading(i int) string { return fmt.Sprintf("%.1f°C", 20+0.3*float64(i)) }

func main() {
	if err := run(); err != nil {
		say("check", "FAILED: %v", err)
		os.Exit(1)
	}
}

func run() error {
	feed := &feed{}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	url := srv.URL + "/temperature"
	say("server", "listening on %s", srv.URL)
	say("server", `an event is "field: value" lines ended by a blank line ("\n\n")`)

	es, err := eventsource.New(url, eventsource.WithRetry(retry))
	if err != nil {
		return err
	}
	var got []eventsource.Event
	es.OnOpen(func() {
		say("client", "connected, ReadyState %s", es.ReadyState())
	})
	es.OnMessage(func(ev eventsource.Event) {
		got = append(got, ev)
		say("client", "event id=%s data=%q", ev.ID, ev.Data)
		if ev.ID == strconv.Itoa(total) {
			say("client", "that was the last reading: Close")
			es.Close()
		}
	})
	es.OnError(func(err error) {
		say("client", "connection lost: %v", err)
		say("client", "an event cut off before its blank line is discarded: the last event ID is still %s",
			es.LastEventID())
		say("client", "ReadyState %s: reconnecting in %v (plus jitter) with the header Last-Event-ID: %s",
			es.ReadyState(), retry, es.LastEventID())
	})

	say("client", "GET %s", url)
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	defer cancel()
	if err := es.Run(ctx); err != nil {
		return err
	}

	if err := check(got, feed.lastEventIDs()); err != nil {
		return err
	}
	say("check", "received events 1..%d once each, in order, each complete;", total)
	say("check", "the half of event %d sent before the drop was never delivered", cutAt)
	return nil
}

// check verifies that got holds events 1..total, in order, each with its
// full data, and that the server saw one reconnection, which asked to
// resume after the last event delivered before the drop.
func check(got []eventsource.Event, lastIDs []string) error {
	if len(got) != total {
		return fmt.Errorf("received %d events, want %d", len(got), total)
	}
	for i, ev := range got {
		if n := i + 1; ev.ID != strconv.Itoa(n) || ev.Data != reading(n) {
			return fmt.Errorf("event %d is id=%s data=%q, want id=%d data=%q", n, ev.ID, ev.Data, n, reading(n))
		}
	}
	if want := []string{"", strconv.Itoa(cutAt - 1)}; !slices.Equal(lastIDs, want) {
		return fmt.Errorf("the server got Last-Event-ID headers %q, want %q", lastIDs, want)
	}
	return nil
}

// feed is the SSE server: it sends the readings after the one named by the
// request's Last-Event-ID header, and drops the first connection in the
// middle of event cutAt.
type feed struct {
	mu      sync.Mutex // guards lastIDs
	lastIDs []string   // the Last-Event-ID header of each request
}

func (f *feed) lastEventIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lastIDs)
}

func (f *feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lastID := r.Header.Get("Last-Event-ID")
	f.mu.Lock()
	f.lastIDs = append(f.lastIDs, lastID)
	conn := len(f.lastIDs)
	f.mu.Unlock()

	next := 1
	if lastID == "" {
		say("server", "connection %d, no Last-Event-ID header: starting with event 1", conn)
	} else {
		n, err := strconv.Atoi(lastID)
		if err != nil {
			http.Error(w, "bad Last-Event-ID", http.StatusBadRequest)
			return
		}
		next = n + 1
		say("server", "connection %d, header Last-Event-ID: %s: resuming with event %d", conn, lastID, next)
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()

	for i := next; i <= total; i++ {
		select {
		case <-time.After(pace):
		case <-r.Context().Done():
			return
		}
		event := fmt.Sprintf("id: %d\ndata: %s\n\n", i, reading(i))
		if conn == 1 && i == cutAt {
			// Half an event: its id line and part of its data, without the
			// blank line that would dispatch it.
			half := event[:strings.Index(event, ".")]
			say("server", "sends %q, half an event, then drops the connection", half)
			fmt.Fprint(w, half)
			rc.Flush()
			if err := drop(rc); err != nil {
				say("server", "could not drop the connection: %v", err)
			}
			return
		}
		say("server", "sends %q", event)
		fmt.Fprint(w, event)
		rc.Flush()
	}
	// A live feed stays open; this one waits for the client to leave.
	<-r.Context().Done()
}

// drop closes the TCP connection under a response, as a crash or a network
// failure would: the client sees the stream stop without a proper end.
func drop(rc *http.ResponseController) error {
	conn, _, err := rc.Hijack()
	if err != nil {
		return err
	}
	return conn.Close()
}

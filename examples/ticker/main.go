// Ticker shows named events: a market feed that sends "quote", "trade" and
// "heartbeat" events, each handled by its own listener added with
// [eventsource.EventSource.AddEventListener].
//
// Its own feed server on loopback asks clients, with a "retry:" field, to
// wait 300ms before they reconnect, and drops the first connection after a
// few events. The OnError callback shows the ReadyState during the
// reconnection. The program stops after -n events.
//
// Run it with
//
//	go run ./examples/ticker
//	go run ./examples/ticker -n 30
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-eventsource/eventsource"
)

type quote struct {
	Symbol   string
	Bid, Ask float64
}

type trade struct {
	Symbol string
	Price  float64
	Size   int
}

var start = time.Now()

// say prints one line: the time since the start, who speaks, and what.
func say(who, format string, args ...any) {
	fmt.Printf("%5.2fs  %-7s %s\n", time.Since(start).Seconds(), who+":", fmt.Sprintf(format, args...))
}

func main() {
	n := flag.Int("n", 12, "stop after `count` events")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "ticker:", err)
		os.Exit(1)
	}
}

func run(limit int) error {
	srv := httptest.NewServer(&market{dropAfter: 5})
	defer srv.Close()

	es, err := eventsource.New(srv.URL + "/market")
	if err != nil {
		return err
	}
	received := 0
	count := func() {
		if received++; received == limit {
			say("client", "%d events received: Close", received)
			es.Close()
		}
	}
	es.AddEventListener("quote", func(ev eventsource.Event) {
		var q quote
		if err := json.Unmarshal([]byte(ev.Data), &q); err != nil {
			say("client", "bad quote %q: %v", ev.Data, err)
			return
		}
		say("client", "#%-3s quote      %s  bid %.2f  ask %.2f", ev.ID, q.Symbol, q.Bid, q.Ask)
		count()
	})
	es.AddEventListener("trade", func(ev eventsource.Event) {
		var t trade
		if err := json.Unmarshal([]byte(ev.Data), &t); err != nil {
			say("client", "bad trade %q: %v", ev.Data, err)
			return
		}
		say("client", "#%-3s trade      %s  %d @ %.2f", ev.ID, t.Symbol, t.Size, t.Price)
		count()
	})
	es.AddEventListener("heartbeat", func(ev eventsource.Event) {
		say("client", "#%-3s heartbeat  server time %s", ev.ID, ev.Data)
		count()
	})
	es.OnOpen(func() {
		say("client", "connected, ReadyState %s", es.ReadyState())
	})
	es.OnError(func(err error) {
		say("client", "connection lost: %v", err)
		say("client", "ReadyState %s: reconnecting with Last-Event-ID: %s", es.ReadyState(), es.LastEventID())
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = es.Run(ctx)
	say("client", "Run returned %v, ReadyState %s", err, es.ReadyState())
	return err
}

// market is the feed server. Each connection gets the events after its
// Last-Event-ID; the first connection drops after dropAfter events.
type market struct {
	dropAfter   int
	connections atomic.Int32
}

func (m *market) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn := m.connections.Add(1)
	lastID, next := r.Header.Get("Last-Event-ID"), 1
	if id, err := strconv.Atoi(lastID); err == nil {
		next = id + 1
	}
	say("server", "connection %d, Last-Event-ID: %s; sends \"retry: 300\" (reconnect after 300ms), then events from %d",
		conn, cmp.Or(lastID, "(none)"), next)
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	fmt.Fprint(w, "retry: 300\n\n")
	rc.Flush()

	for i := next; ; i++ {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		if conn == 1 && i == next+m.dropAfter {
			say("server", "drops the connection")
			if c, _, err := rc.Hijack(); err == nil {
				c.Close()
			}
			return
		}
		typ, data := tick(i)
		fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", i, typ, data)
		rc.Flush()
	}
}

// tick returns the type and data of event i: mostly quotes, a trade every
// third event, a heartbeat every fifth.
func tick(i int) (typ string, data []byte) {
	price := 101 + float64(i%7)*0.05
	var v any
	switch {
	case i%5 == 0:
		return "heartbeat", []byte(time.Now().Format("15:04:05.000"))
	case i%3 == 0:
		typ, v = "trade", trade{Symbol: "ACME", Price: price, Size: 100 * (i%4 + 1)}
	default:
		typ, v = "quote", quote{Symbol: "ACME", Bid: price - 0.02, Ask: price + 0.02}
	}
	data, _ = json.Marshal(v)
	return typ, data
}

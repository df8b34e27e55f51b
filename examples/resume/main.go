// Resume shows how a program that stops and starts again picks up a feed
// where it left off: after each event it stores
// [eventsource.EventSource.LastEventID] in a file, and when it starts it
// passes the stored ID to [eventsource.WithLastEventID]. The server then
// sends only the events after that ID.
//
// By default one run plays two sessions against its own feed server on
// loopback: the first reads events 1 to 5 and stops, as if the program
// exited; the second starts again from the file and reads 6 to 10. The
// state file lives in a temporary directory that is removed at the end.
//
//	go run ./examples/resume
//
// With -state, the file is kept, so each run goes on from the last:
//
//	go run ./examples/resume -state /tmp/orders.pos -sessions 1
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-eventsource/eventsource"
)

func main() {
	state := flag.String("state", "", "`file` that stores the last event ID; empty: a temporary one")
	sessions := flag.Int("sessions", 2, "how many times to start reading")
	perSession := flag.Int("n", 5, "events to read in each session")
	flag.Parse()
	if err := run(*state, *sessions, *perSession); err != nil {
		fmt.Println("client:", err)
		os.Exit(1)
	}
}

func run(state string, sessions, perSession int) error {
	if state == "" {
		dir, err := os.MkdirTemp("", "resume")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		state = filepath.Join(dir, "last-event-id")
	}
	srv := httptest.NewServer(http.HandlerFunc(orders))
	defer srv.Close()

	for i := 1; i <= sessions; i++ {
		fmt.Printf("--- session %d\n", i)
		if err := session(srv.URL+"/orders", state, perSession); err != nil {
			return err
		}
	}
	return nil
}

// session starts from the ID stored in state, reads n events, saving the
// ID after each, and stops. It checks that the first event is the one right
// after the stored ID.
func session(url, state string, n int) error {
	stored, err := load(state)
	if err != nil {
		return err
	}
	if stored == "" {
		fmt.Printf("client: no ID stored in %s: starting from the beginning\n", state)
	} else {
		fmt.Printf("client: %s holds %q: resuming with WithLastEventID(%q)\n", state, stored, stored)
	}
	es, err := eventsource.New(url, eventsource.WithLastEventID(stored), eventsource.WithRetry(time.Second))
	if err != nil {
		return err
	}
	var first string
	received := 0
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Printf("client: event id=%s data=%q\n", ev.ID, ev.Data)
		if first == "" {
			first = ev.ID
		}
		// Saving after handling the event means that a crash in between
		// handles it again on restart: at least once. Save before handling
		// for at most once.
		if err := save(state, es.LastEventID()); err != nil {
			fmt.Println("client: cannot save the last event ID:", err)
			es.Close()
			return
		}
		if received++; received == n {
			fmt.Printf("client: %d events read, %q saved: stopping (as if the program exited)\n", n, es.LastEventID())
			es.Close()
		}
	})
	es.OnError(func(err error) { fmt.Println("client:", err) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := es.Run(ctx); err != nil {
		return err
	}
	after, _ := strconv.Atoi(stored)
	if want := strconv.Itoa(after + 1); first != want {
		return fmt.Errorf("check failed: the session started at event %q, want %s", first, want)
	}
	if stored != "" {
		fmt.Printf("check: resumed at event %s, right after the stored %s: nothing lost, nothing repeated\n", first, stored)
	}
	return nil
}

// load returns the ID stored in file, or "" when there is no file yet.
func load(file string) (string, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

// save stores id in file. It writes a new file and renames it over the old
// one, so a crash leaves either the old ID or the new one, never half of it.
func save(file, id string) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(id), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// orders is the feed server: an endless list of orders, event i being order
// 1000+i. A request gets the events after its Last-Event-ID, one every
// 100ms, as a server that keeps its history would send them.
func orders(w http.ResponseWriter, r *http.Request) {
	next := 1
	lastID := r.Header.Get("Last-Event-ID")
	if lastID != "" {
		n, err := strconv.Atoi(lastID)
		if err != nil {
			http.Error(w, "unknown Last-Event-ID", http.StatusBadRequest)
			return
		}
		next = n + 1
		fmt.Printf("server: request with Last-Event-ID: %s: sending from event %d\n", lastID, next)
	} else {
		fmt.Println("server: request without Last-Event-ID: sending from event 1")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	for i := next; ; i++ {
		fmt.Fprintf(w, "id: %d\ndata: order #%d placed\n\n", i, 1000+i)
		rc.Flush()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
}

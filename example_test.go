package eventsource_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

import "github.com/go-eventsource/eventsource"
import "github.com/go-eventsource/eventsource/eventsourcetest"

func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: hello\n\ndata: world\n\n")
	}))
	defer srv.Close()

	es, err := eventsource.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.Data)
		if ev.Data == "world" {
			es.Close() // the last event: Run returns nil
		}
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// hello
	// world
}

func ExampleNew() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first event\n\n")
	}))
	defer srv.Close()

	// New checks the URL and the options; it does not connect.
	_, err := eventsource.New("ws://example.com/feed")
	fmt.Println(err)

	es, err := eventsource.New(srv.URL,
		eventsource.WithRetry(time.Second),          // the first reconnection delay
		eventsource.WithMaxRetries(10),              // give up after 10 failures in a row
		eventsource.WithIdleTimeout(30*time.Second), // reconnect when the feed goes silent
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(es.ReadyState())
	es.OnOpen(func() { fmt.Println(es.ReadyState()) })
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.Data)
		es.Close()
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(es.ReadyState())
	// Output:
	// eventsource: invalid URL "ws://example.com/feed": the scheme must be http or https
	// Connecting
	// Open
	// first event
	// Closed
}

// An LLM API answers a POST with a stream that ends with "data: [DONE]".
// Read it with a Decoder: an EventSource would reconnect when the stream
// ends, and send the POST again.
func ExampleNewDecoder() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"Hello"}}]}`+"\n\n")
		fmt.Fprint(w, `data: {"choices":[{"delta":{"content":", world"}}]}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()

	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		log.Fatal(resp.Status)
	}
	dec := eventsource.NewDecoder(resp.Body)
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			break // the body ended without [DONE]
		}
		if err != nil {
			log.Fatal(err)
		}
		if ev.Data == "[DONE]" {
			break
		}
		var chunk struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(ev.Data), &chunk); err != nil {
			log.Fatal(err)
		}
		for _, c := range chunk.Choices {
			fmt.Print(c.Delta.Content)
		}
	}
	fmt.Println()
	// Output:
	// Hello, world
}

func ExampleDecoder_All() {
	const body = "event: greeting\ndata: hello\n\n" +
		": a comment\n" +
		"id: 7\ndata: two\ndata: lines\n\n" +
		"data: cut off before its blank line"
	dec := eventsource.NewDecoder(strings.NewReader(body))
	for ev, err := range dec.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %q id=%q\n", ev.Type, ev.Data, ev.ID)
	}
	// Output:
	// greeting "hello" id=""
	// message "two\nlines" id="7"
}

func ExampleEventSource_AddEventListener() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: join\ndata: alice\n\n")
		fmt.Fprint(w, "data: an event of type message\n\n")
		fmt.Fprint(w, "event: join\ndata: bob\n\n")
		fmt.Fprint(w, "event: leave\ndata: alice\n\n")
	}))
	defer srv.Close()

	es, err := eventsource.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	es.AddEventListener("join", func(ev eventsource.Event) {
		fmt.Println(ev.Data, "joined")
	})
	es.AddEventListener("leave", func(ev eventsource.Event) {
		fmt.Println(ev.Data, "left")
		es.Close()
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// alice joined
	// bob joined
	// alice left
}

// By default a 503 is retried, so that a client rides out a server restart.
// This policy gives up on it instead.
func ExampleWithRetryPolicy() {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	es, err := eventsource.New(srv.URL, eventsource.WithRetryPolicy(func(err error) bool {
		var status *eventsource.StatusError
		if errors.As(err, &status) && status.StatusCode == http.StatusServiceUnavailable {
			return false
		}
		return eventsource.DefaultRetryPolicy(err)
	}))
	if err != nil {
		log.Fatal(err)
	}
	err = es.Run(context.Background())

	var status *eventsource.StatusError
	if errors.As(err, &status) {
		fmt.Printf("gave up after %d request: %d %s\n", requests.Load(), status.StatusCode, strings.TrimSpace(status.Body))
	}
	// Output:
	// gave up after 1 request: 503 down for maintenance
}

func ExampleEventSource_OnError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Last-Event-ID") != "" {
			http.Error(w, "this feed is gone", http.StatusGone)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		// The stream ends in the middle of the second event, which is lost.
		fmt.Fprint(w, "id: 1\ndata: first\n\nid: 2\ndata: sec")
	}))
	defer srv.Close()

	es, err := eventsource.New(srv.URL, eventsource.WithRetry(0))
	if err != nil {
		log.Fatal(err)
	}
	es.OnMessage(func(ev eventsource.Event) { fmt.Println("event:", ev.Data) })
	es.OnError(func(err error) {
		var status *eventsource.StatusError
		switch {
		case errors.As(err, &status):
			fmt.Println("status", status.StatusCode, "then", es.ReadyState())
		case errors.Is(err, io.EOF):
			fmt.Println("stream ended, then", es.ReadyState())
		default:
			fmt.Println(err, es.ReadyState())
		}
	})
	err = es.Run(context.Background())
	fmt.Println("Run returned a StatusError:", errors.As(err, new(*eventsource.StatusError)))
	// Output:
	// event: first
	// stream ended, then Connecting
	// status 410 then Closed
	// Run returned a StatusError: true
}

func ExampleWithHeader() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, key := range []string{"Authorization", "Accept", "Cache-Control"} {
			fmt.Fprintf(w, "data: %s: %s\n\n", key, r.Header.Get(key))
		}
	}))
	defer srv.Close()

	es, err := eventsource.New(srv.URL, eventsource.WithHeader("Authorization", "Bearer s3cr3t"))
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.Data)
		if n++; n == 3 {
			es.Close()
		}
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Authorization: Bearer s3cr3t
	// Accept: text/event-stream
	// Cache-Control: no-cache
}

// A program that stored [EventSource.LastEventID] before it stopped resumes
// where it left off: the server sends only the events after that ID.
func ExampleWithLastEventID() {
	events := []string{"a", "b", "c", "d", "e"} // IDs 1 to 5
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastID, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
		w.Header().Set("Content-Type", "text/event-stream")
		for i := lastID; i < len(events); i++ {
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", i+1, events[i])
		}
	}))
	defer srv.Close()

	stored := "3" // read from where the previous run saved es.LastEventID()
	es, err := eventsource.New(srv.URL, eventsource.WithLastEventID(stored),
		eventsource.WithMaxRetries(0)) // this run ends with the stream
	if err != nil {
		log.Fatal(err)
	}
	es.OnMessage(func(ev eventsource.Event) { fmt.Println(ev.ID, ev.Data) })
	err = es.Run(context.Background())
	fmt.Println("the stream ended:", errors.Is(err, io.EOF))
	stored = es.LastEventID() // to save for the next run
	fmt.Println("stored:", stored)
	// Output:
	// 4 d
	// 5 e
	// the stream ended: true
	// stored: 5
}

func ExampleEventSource_Events() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, data := range []string{"one", "two", "three"} {
			fmt.Fprintf(w, "data: %s\n\n", data)
		}
	}))
	defer srv.Close()

	es, err := eventsource.New(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	for ev, err := range es.Events(context.Background()) {
		if err != nil {
			log.Fatal(err) // the stream ended for good
		}
		fmt.Println(ev.Data)
		if ev.Data == "three" {
			break // closes the EventSource
		}
	}
	fmt.Println(es.ReadyState())
	// Output:
	// one
	// two
	// three
	// Closed
}

func ExampleWithResponseHook() {
	srv := eventsourcetest.NewServer(
		eventsourcetest.Script{eventsourcetest.Status(http.StatusOK, "Mcp-Session-Id", "7f3a"),
			eventsourcetest.Data("started"), eventsourcetest.Stall()},
	)
	defer srv.Close()

	es, err := eventsource.New(srv.URL,
		eventsource.WithResponseHook(func(resp *http.Response) error {
			// Every response comes here, whatever its status, before its
			// events.
			fmt.Println(resp.StatusCode, "session", resp.Header.Get("Mcp-Session-Id"))
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.Data)
		es.Close()
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 200 session 7f3a
	// started
}

func ExampleErrRetryNow() {
	srv := eventsourcetest.NewServer(
		eventsourcetest.Script{eventsourcetest.Status(http.StatusUnauthorized)},
		eventsourcetest.Script{eventsourcetest.Data("welcome back"), eventsourcetest.Stall()},
	)
	defer srv.Close()

	token := "expired"
	es, err := eventsource.New(srv.URL,
		eventsource.WithRequestHook(func(req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}),
		eventsource.WithResponseHook(func(resp *http.Response) error {
			if resp.StatusCode == http.StatusUnauthorized {
				token = "fresh" // refresh the token, then reconnect at once
				return fmt.Errorf("token expired: %w", eventsource.ErrRetryNow)
			}
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	es.OnError(func(err error) { fmt.Println("error:", errors.Is(err, eventsource.ErrRetryNow)) })
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.Data)
		es.Close()
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent:", srv.Requests()[1].Header.Get("Authorization"))
	// Output:
	// error: true
	// welcome back
	// sent: Bearer fresh
}

func ExampleEventSource_Reconnect() {
	// The server reports trouble inside its 200 stream with an event of
	// type "error"; the client drops the connection and comes back after
	// the last event it completed.
	events := []eventsourcetest.Event{
		{ID: "1", Data: "a"},
		{ID: "2", Type: "error", Data: `{"type":"overloaded"}`},
		{ID: "3", Data: "b"},
	}
	srv := eventsourcetest.NewServer(
		eventsourcetest.Script{eventsourcetest.Feed(events, 2), eventsourcetest.Stall()},
		eventsourcetest.Script{eventsourcetest.Feed(events, 0), eventsourcetest.Stall()},
	)
	defer srv.Close()

	es, err := eventsource.New(srv.URL, eventsource.WithRetry(10*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	errOverloaded := errors.New("server overloaded")
	es.AddEventListener("error", func(ev eventsource.Event) {
		es.Reconnect(errOverloaded) // a retry, after the backoff
	})
	es.OnError(func(err error) { fmt.Println("reconnecting:", errors.Is(err, errOverloaded)) })
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.ID, ev.Data)
		if ev.ID == "3" {
			es.Close()
		}
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("resumed after:", srv.Requests()[1].LastEventID)
	// Output:
	// 1 a
	// reconnecting: true
	// 3 b
	// resumed after: 2
}

func ExampleWithMaxRetryAfter() {
	srv := eventsourcetest.NewServer(
		eventsourcetest.Script{eventsourcetest.Status(http.StatusServiceUnavailable, "Retry-After", "86400")},
	)
	defer srv.Close()

	es, err := eventsource.New(srv.URL, eventsource.WithMaxRetryAfter(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	es.OnError(func(err error) {
		var se *eventsource.StatusError
		if errors.As(err, &se) {
			// The server asked for a day; the client waits a minute.
			fmt.Println(se.RetryAfter, "asked;", es.Stats().RetryDelay, "waited")
		}
		es.Close()
	})
	if err := es.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 24h0m0s asked; 1m0s waited
}

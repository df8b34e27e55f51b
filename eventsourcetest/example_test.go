package eventsourcetest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/go-eventsource/eventsource"
	"github.com/go-eventsource/eventsource/eventsourcetest"
)

// A script writes events, and a Decoder reads them back from a plain GET.
func Example() {
	srv := eventsourcetest.NewServer(eventsourcetest.Script{
		eventsourcetest.Comment("heartbeat"),
		eventsourcetest.Send(eventsourcetest.Event{Type: "quote", ID: "1", Data: "AAPL 190.12"}),
		eventsourcetest.Data("two\nlines"),
		eventsourcetest.Raw("data: CRLF line ends\r\n\r\n"),
	})
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	for ev, err := range eventsource.NewDecoder(resp.Body).All() {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s id=%q %q\n", ev.Type, ev.ID, ev.Data)
	}
	// Output:
	// quote id="1" "AAPL 190.12"
	// message id="1" "two\nlines"
	// message id="1" "CRLF line ends"
}

// A feed that drops every connection after two events: the client resumes
// each time from the last event ID it saw.
func ExampleFeed() {
	events := []eventsourcetest.Event{
		{ID: "1", Data: "a"}, {ID: "2", Data: "b"}, {ID: "3", Data: "c"}, {ID: "4", Data: "d"},
	}
	srv := eventsourcetest.NewServer(eventsourcetest.Script{
		eventsourcetest.Feed(events, 2),
		eventsourcetest.Drop(),
	})
	defer srv.Close()

	es, err := eventsource.New(srv.URL,
		eventsource.WithHTTPClient(srv.Client()), eventsource.WithRetry(time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.ID, ev.Data)
		if ev.ID == "4" {
			es.Close()
		}
	})
	if err := es.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	for _, req := range srv.Requests() {
		fmt.Printf("request with Last-Event-ID %q\n", req.LastEventID)
	}
	// Output:
	// 1 a
	// 2 b
	// 3 c
	// 4 d
	// request with Last-Event-ID ""
	// request with Last-Event-ID "2"
}

// The first request gets 503 with a Retry-After header, the second the
// stream. Stall keeps the stream open until the client leaves.
func ExampleStatus() {
	srv := eventsourcetest.NewServer(
		eventsourcetest.Script{
			eventsourcetest.Status(http.StatusServiceUnavailable, "Retry-After", "0"),
			eventsourcetest.Raw("down for maintenance"),
		},
		eventsourcetest.Script{eventsourcetest.Data("back"), eventsourcetest.Stall()},
	)
	defer srv.Close()

	// A plain HTTP server needs no client of its own.
	es, err := eventsource.New(srv.URL, eventsource.WithRetry(time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	es.OnError(func(err error) {
		var se *eventsource.StatusError
		if errors.As(err, &se) {
			fmt.Println(se.StatusCode, se.Body, es.ReadyState())
		}
	})
	es.OnMessage(func(ev eventsource.Event) {
		fmt.Println(ev.Data)
		es.Close()
	})
	if err := es.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 503 down for maintenance Connecting
	// back
}

// WaitRequests lets a test wait for the client's reconnection without
// sleeping.
func ExampleServer_WaitRequests() {
	srv := eventsourcetest.NewServer(
		eventsourcetest.Script{eventsourcetest.Send(eventsourcetest.Event{ID: "7", Data: "x"})},
		eventsourcetest.Script{eventsourcetest.Stall()},
	)
	defer srv.Close()

	es, err := eventsource.New(srv.URL, eventsource.WithRetry(time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- es.Run(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reqs, err := srv.WaitRequests(ctx, 2)
	if err != nil {
		fmt.Println(err)
	}
	es.Close()
	fmt.Println(<-done)
	fmt.Printf("%s %q\n", reqs[1].Method, reqs[1].LastEventID)
	// Output:
	// <nil>
	// GET "7"
}

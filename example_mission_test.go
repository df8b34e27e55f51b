package eventsource_test

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

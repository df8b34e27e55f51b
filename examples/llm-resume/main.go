// Llm-resume shows how to pick up a streamed LLM response after the stream
// drops, in the style of the background mode of OpenAI's Responses API.
//
// The client POSTs /v1/responses with "background": true and "stream": true.
// The events have no id: field; each carries a sequence_number in its JSON,
// and the first, response.created, the ID of the response. The fake API on
// loopback drops the connection after -drop-after events, and goes on with
// the response in the background. A request hook
// ([eventsource.WithRequestHook]) turns the reconnection into
// GET /v1/responses/{id}?stream=true&starting_after=N, N being the last
// sequence_number received, and the API sends the events after it. With
// -corrupt, an event's JSON is cut short instead: the client reports it and
// asks for the events after the last good one again, with
// [eventsource.EventSource.Reconnect]. At response.completed it checks that
// the sequence numbers ran from 0 with no gap or repeat, else exits with 1.
//
//	go run ./examples/llm-resume
//	go run ./examples/llm-resume -drop-after 2
//	go run ./examples/llm-resume -corrupt
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/go-eventsource/eventsource"
)

// The fake model answers with these tokens, one delta each.
var tokens = []string{"A ", "background ", "response ", "keeps ", "running ", "when ", "the ", "stream ",
	"drops, ", "so ", "the ", "client ", "can ", "ask ", "for ", "the ", "rest."}

func main() {
	dropAfter := flag.Int("drop-after", 6, "the first connection breaks after `n` events")
	corrupt := flag.Bool("corrupt", false, "break the first connection with an event whose JSON is cut short")
	flag.Parse()
	if err := run(*dropAfter, *corrupt); err != nil {
		fmt.Println("check: FAILED:", err)
		os.Exit(1)
	}
}

// A streamEvent is the part of a Responses API event that the client reads.
type streamEvent struct {
	Type           string
	SequenceNumber *int `json:"sequence_number"`
	Delta          string
	Response       struct{ ID, Status string }
}

func run(dropAfter int, corrupt bool) error {
	api := &fakeAPI{dropAfter: dropAfter, corrupt: corrupt}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/responses", api.create)
	mux.HandleFunc("GET /v1/responses/{id}", api.resume)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body := `{"model":"gpt-4.1-mini","input":"What happens when the stream drops?","background":true,"stream":true}`
	var (
		es      *eventsource.EventSource
		respID  string // from response.created
		lastSeq = -1   // the last sequence_number received
		seqs    []int  // every sequence_number received, in order
		answer  string // the deltas so far
		done    bool   // response.completed arrived
		bad     error  // the first event that did not parse
	)
	es, err := eventsource.New(srv.URL+"/v1/responses",
		eventsource.WithMethod(http.MethodPost),
		eventsource.WithBody([]byte(body)),
		eventsource.WithHeader("Content-Type", "application/json"),
		eventsource.WithRetry(0), // resume at once
		eventsource.WithMaxRetries(2),
		eventsource.WithRequestHook(func(req *http.Request) error {
			if es.Stats().Connections == 0 {
				fmt.Printf("client: POST %s %s\n", req.URL.Path, body)
				return nil
			}
			if respID == "" {
				return errors.New("the stream broke before response.created: no response to resume")
			}
			req.Method, req.Body = http.MethodGet, nil
			req.Header.Del("Content-Type")
			req.URL = req.URL.JoinPath(respID)
			req.URL.RawQuery = url.Values{"stream": {"true"}, "starting_after": {strconv.Itoa(lastSeq)}}.Encode()
			fmt.Printf("client: GET %s\n", req.URL.RequestURI())
			return nil
		}),
	)
	if err != nil {
		return err
	}
	es.OnEvent(func(ev eventsource.Event) {
		var e streamEvent
		err := json.Unmarshal([]byte(ev.Data), &e)
		if err == nil && e.SequenceNumber == nil {
			err = errors.New("no sequence_number")
		}
		if err != nil {
			if bad != nil { // broken again: give up
				es.Close()
				return
			}
			bad = fmt.Errorf("bad %s event after sequence_number %d: %w", ev.Type, lastSeq, err)
			es.Reconnect(bad) // and ask again for the events after lastSeq
			return
		}
		lastSeq = *e.SequenceNumber
		seqs = append(seqs, lastSeq)
		switch e.Type {
		case "response.created":
			respID = e.Response.ID
			fmt.Printf("client: #%d %s: %s, %s\n", lastSeq, e.Type, respID, e.Response.Status)
		case "response.output_text.delta":
			answer += e.Delta
			fmt.Printf("client: #%d %s %q\n", lastSeq, e.Type, e.Delta)
		case "response.completed":
			done = true
			fmt.Printf("client: #%d %s: %s: Close\n", lastSeq, e.Type, e.Response.Status)
			es.Close()
		default:
			fmt.Printf("client: #%d %s\n", lastSeq, e.Type)
		}
	})
	es.OnError(func(err error) { fmt.Println("client: connection lost:", err) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := es.Run(ctx); err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("no response.completed: %w", bad)
	}
	fmt.Println("assistant:", answer)
	for i, seq := range seqs {
		if seq != i {
			return fmt.Errorf("sequence numbers %v: want each once, from 0 up", seqs)
		}
	}
	fmt.Printf("check: sequence numbers 0 to %d once each, none lost or repeated, over %d connections\n",
		lastSeq, es.Stats().Connections)
	return nil
}

const responseID = "resp_68b4e1c0f7a2"

// fakeAPI is the fake Responses API. It generates the response in full when
// it is created, and keeps its events, so that a client can ask for them
// again.
type fakeAPI struct {
	dropAfter int  // the first connection breaks after this many events
	corrupt   bool // with a bad event, not a drop

	mu     sync.Mutex
	events []string // the events of the response, each its "event:" and "data:" lines
}

func (a *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model              string
		Background, Stream bool
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil || !req.Background || !req.Stream {
		http.Error(w, `want a JSON body with "background": true and "stream": true`, http.StatusBadRequest)
		return
	}
	events := generate(req.Model)
	a.mu.Lock()
	a.events = events
	a.mu.Unlock()
	fmt.Printf("server: POST /v1/responses: %s queued, in the background; %d events\n", responseID, len(events))
	switch {
	case a.dropAfter >= len(events):
	case a.corrupt:
		fmt.Printf("server: sends them all, but #%d with its JSON cut short\n", a.dropAfter)
	default:
		fmt.Printf("server: sends #0 to #%d, then the connection drops\n", a.dropAfter-1)
	}
	a.send(w, events, a.dropAfter)
}

func (a *fakeAPI) resume(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	events := a.events
	a.mu.Unlock()
	q := r.URL.Query()
	after, err := strconv.Atoi(q.Get("starting_after"))
	if r.PathValue("id") != responseID || q.Get("stream") != "true" || err != nil ||
		after < -1 || after >= len(events) || r.ContentLength != 0 {
		http.Error(w, "want GET /v1/responses/{id}?stream=true&starting_after=N, no body", http.StatusBadRequest)
		return
	}
	fmt.Printf("server: GET %s: replays from sequence_number %d\n", r.URL.RequestURI(), after+1)
	a.send(w, events[after+1:], -1)
}

// send writes events as a stream. Event breakAt, unless it is -1, is lost
// with the connection, or sent with its JSON cut short.
func (a *fakeAPI) send(w http.ResponseWriter, events []string, breakAt int) {
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	for i, ev := range events {
		if i == breakAt && a.corrupt {
			ev = ev[:len(ev)/2] + "\n\n"
		} else if i == breakAt {
			rc.Flush()
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		fmt.Fprint(w, ev)
	}
}

// generate returns the events of the response: response.created, a delta
// per token, and response.completed, numbered from 0.
func generate(model string) []string {
	var events []string
	add := func(typ string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = typ, len(events)
		data, _ := json.Marshal(fields)
		events = append(events, fmt.Sprintf("event: %s\ndata: %s\n\n", typ, data))
	}
	response := map[string]any{"id": responseID, "object": "response", "model": model, "background": true, "status": "queued"}
	add("response.created", map[string]any{"response": response})
	answer := ""
	for _, tok := range tokens {
		add("response.output_text.delta", map[string]any{"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": tok})
		answer += tok
	}
	response["status"] = "completed"
	response["output"] = []any{map[string]any{"type": "message", "id": "msg_1", "role": "assistant",
		"content": []any{map[string]any{"type": "output_text", "text": answer}}}}
	add("response.completed", map[string]any{"response": response})
	return events
}

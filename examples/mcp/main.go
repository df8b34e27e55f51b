// Mcp shows a tool call of the Model Context Protocol (MCP), over its
// Streamable HTTP transport, that survives a broken stream.
//
// The client POSTs a JSON-RPC tools/call request that accepts
// "application/json, text/event-stream". Its fake MCP server on loopback
// answers with an event stream and an Mcp-Session-Id header, which a
// response hook ([eventsource.WithResponseHook]) records. The stream
// carries progress notifications, then the response to the call, each
// message an event with an id, and the server closes it after three
// messages. The client resumes as the transport says, with a GET that has
// no body and carries Last-Event-ID and Mcp-Session-Id: a request hook
// ([eventsource.WithRequestHook]) turns each reconnection into that GET,
// so the tool never runs twice. The server replays the messages after that
// ID. The client closes when the response to its request arrives, checks
// that it got every message once, in order, and exits with status 1 if not.
// (A real session begins with an initialize request, which the fake skips.)
//
//	go run ./examples/mcp
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-eventsource/eventsource"
)

// A message is the part of a JSON-RPC message that the client reads.
type message struct {
	ID     *int
	Method string
	Params struct {
		Progress, Total int
		Message         string
	}
	Result *struct{ Content []struct{ Text string } }
}

// The stream of the call holds steps progress notifications, then the
// response; the server closes each stream after dropAfter messages.
const (
	steps     = 4
	dropAfter = 3
	requestID = 1 // the JSON-RPC id of the call
	sessionID = "5c1e0f7a-93d2-4b8e-a6f4-2d7c9b0e1a38"
)

func main() {
	if err := run(); err != nil {
		fmt.Println("check: FAILED:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv := httptest.NewServer(&mcpServer{})
	defer srv.Close()

	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call",`+
		`"params":{"name":"index_docs","arguments":{"path":"docs/"},"_meta":{"progressToken":"p1"}}}`, requestID)
	var (
		es      *eventsource.EventSource
		session string   // the Mcp-Session-Id of the first response
		resumes []string // the Last-Event-ID of each GET
		ids     []string // the event IDs of the messages received
		failure error
	)
	es, err := eventsource.New(srv.URL+"/mcp",
		eventsource.WithMethod(http.MethodPost),
		eventsource.WithBody([]byte(call)),
		eventsource.WithHeader("Content-Type", "application/json"),
		eventsource.WithHeader("Accept", "application/json, text/event-stream"),
		eventsource.WithRetry(0), // resume at once
		eventsource.WithMaxRetries(2),
		eventsource.WithResponseHook(func(resp *http.Response) error {
			if session == "" {
				session = resp.Header.Get("Mcp-Session-Id")
				fmt.Printf("client: %s, Mcp-Session-Id: %s\n", resp.Status, session)
			}
			return nil
		}),
		eventsource.WithRequestHook(func(req *http.Request) error {
			if es.Stats().Connections == 0 {
				fmt.Printf("client: POST %s %s\n", req.URL.Path, call)
				return nil
			}
			// The POST again would call the tool again.
			req.Method, req.Body = http.MethodGet, nil
			req.Header.Del("Content-Type")
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Mcp-Session-Id", session)
			resumes = append(resumes, es.LastEventID())
			fmt.Printf("client: GET %s, no body, Last-Event-ID: %s, Mcp-Session-Id: %s\n",
				req.URL.Path, es.LastEventID(), session)
			return nil
		}),
	)
	if err != nil {
		return err
	}
	es.OnEvent(func(ev eventsource.Event) {
		var msg message
		if err := json.Unmarshal([]byte(ev.Data), &msg); err != nil {
			failure = fmt.Errorf("message %s is not JSON: %w", ev.ID, err)
			es.Close()
			return
		}
		ids = append(ids, ev.ID)
		switch {
		case msg.Method == "notifications/progress":
			p := msg.Params
			fmt.Printf("client: id %s  progress %d/%d  %s\n", ev.ID, p.Progress, p.Total, p.Message)
		case msg.ID == nil || *msg.ID != requestID:
			fmt.Printf("client: id %s  another message: %s\n", ev.ID, ev.Data)
		case msg.Result == nil:
			failure = fmt.Errorf("the call failed: %s", ev.Data)
			es.Close()
		default:
			for _, c := range msg.Result.Content {
				fmt.Printf("client: id %s  the response to request %d: %s\n", ev.ID, requestID, c.Text)
			}
			fmt.Println("client: the call is answered: Close")
			es.Close()
		}
	})
	es.OnError(func(err error) { fmt.Println("client: the stream ended:", err) })
	if err := es.Run(ctx); err != nil {
		return err
	}
	if failure != nil {
		return failure
	}
	for i, id := range ids {
		if id != strconv.Itoa(i+1) {
			return fmt.Errorf("got the messages with ids %q: want 1 to %d, each once", ids, steps+1)
		}
	}
	if len(ids) != steps+1 || len(resumes) == 0 {
		return fmt.Errorf("got %d messages, want %d, after %d resumptions", len(ids), steps+1, len(resumes))
	}
	fmt.Printf("check: %d messages once each, in order; resumed with GET, no body, Last-Event-ID %s, Mcp-Session-Id %s\n",
		len(ids), strings.Join(resumes, " then "), session)
	return nil
}

// mcpServer is the fake MCP server. A POST of tools/call starts the call and
// its stream: progress notifications, then the response. The server keeps
// the stream's messages, so that a GET with Last-Event-ID replays those
// after it, and closes each stream after dropAfter messages.
type mcpServer struct {
	mu     sync.Mutex // serializes the requests
	stream []string   // the messages of the call; message i has the id i+1
}

func (s *mcpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := s.open(r)
	if err != nil {
		fmt.Printf("server: %s: %v: 400\n", r.Method, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	end := min(next+dropAfter, len(s.stream))
	then := "then closes the stream"
	if end == len(s.stream) {
		then = "the last one the response"
	}
	fmt.Printf("server: sends %d messages from id %d, %s\n", end-next, next+1, then)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Mcp-Session-Id", sessionID)
	for i := next; i < end; i++ {
		fmt.Fprintf(w, "id: %d\ndata: %s\n\n", i+1, s.stream[i])
	}
}

// open checks a request, starts the call for a POST, and returns the index
// of the first message to send.
func (s *mcpServer) open(r *http.Request) (int, error) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == http.MethodPost && s.stream == nil:
		var req struct {
			ID     json.RawMessage
			Method string
			Params struct {
				Name string
				Meta struct{ ProgressToken json.RawMessage } `json:"_meta"`
			}
		}
		if json.Unmarshal(body, &req) != nil || req.Method != "tools/call" ||
			!strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			return 0, errors.New("want a tools/call that accepts text/event-stream")
		}
		fmt.Printf("server: POST tools/call %s: session %s\n", req.Params.Name, sessionID)
		for i := 1; i <= steps; i++ {
			s.stream = append(s.stream, fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/progress","params":`+
				`{"progressToken":%s,"progress":%d,"total":%d,"message":"indexed part %[2]d of %[3]d"}}`,
				req.Params.Meta.ProgressToken, i, steps))
		}
		s.stream = append(s.stream, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":`+
			`{"content":[{"type":"text","text":"docs/ indexed: %d parts, 128 pages"}]}}`, req.ID, steps))
		return 0, nil
	case r.Method == http.MethodPost:
		return 0, errors.New("the call again: the tool would run twice")
	case r.Method != http.MethodGet || len(body) > 0:
		return 0, errors.New("a resumption is a GET without a body")
	case r.Header.Get("Mcp-Session-Id") != sessionID:
		return 0, fmt.Errorf("unknown Mcp-Session-Id %q", r.Header.Get("Mcp-Session-Id"))
	}
	lastID := r.Header.Get("Last-Event-ID")
	n, err := strconv.Atoi(lastID)
	if err != nil || n < 1 || n > len(s.stream) {
		return 0, fmt.Errorf("Last-Event-ID %q names no message of the stream", lastID)
	}
	fmt.Printf("server: GET with the session's Mcp-Session-Id, Last-Event-ID: %s: replays from id %d\n", lastID, n+1)
	return n, nil
}

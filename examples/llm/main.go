// Llm streams a chat completion from an OpenAI-style API and prints the
// tokens as they arrive.
//
// It POSTs a JSON body with an "Authorization: Bearer …" header, and reads
// the Server-Sent Events of the response with [eventsource.NewDecoder]
// until "data: [DONE]" or the end of the body. A status other than 200 is
// printed with the start of its body; an error sent inside the stream
// ("event: error", or a chunk holding an "error" object) ends it as an
// error.
//
// By default it talks to a fake API that it starts on loopback:
//
//	go run ./examples/llm
//	go run ./examples/llm -fail        # the fake fails mid-stream
//	go run ./examples/llm -status 429  # the fake answers 429
//
// To use a real endpoint, set -url or LLM_URL, and LLM_API_KEY:
//
//	LLM_URL=https://api.openai.com/v1/chat/completions LLM_API_KEY=sk-… \
//		go run ./examples/llm -model gpt-4o-mini -prompt "Say hello"
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/go-eventsource/eventsource"
)

func main() {
	url := flag.String("url", os.Getenv("LLM_URL"), "chat completions `endpoint`; empty: a fake on loopback")
	model := flag.String("model", "gpt-4o-mini", "model `name`")
	prompt := flag.String("prompt", "What are Server-Sent Events?", "the user's message")
	fail := flag.Bool("fail", false, "make the fake send an error event in the middle of the stream")
	status := flag.Int("status", http.StatusOK, "make the fake answer with this HTTP `status`")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *url, *model, *prompt, *fail, *status); err != nil {
		fmt.Println("client:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, url, model, prompt string, fail bool, status int) error {
	key := os.Getenv("LLM_API_KEY")
	if url == "" {
		srv := httptest.NewServer(&fakeAPI{fail: fail, status: status})
		defer srv.Close()
		url, key = srv.URL+"/v1/chat/completions", fakeKey
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return complete(ctx, url, key, model, prompt)
}

// complete sends one chat completion request and prints the answer's tokens
// as they arrive.
func complete(ctx context.Context, url, key, model, prompt string) error {
	body, err := json.Marshal(map[string]any{
		"model":    model,
		"stream":   true,
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	fmt.Printf("client: POST %s (model %s)\n", url, model)
	fmt.Println("user:", prompt)

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mediaType != "text/event-stream" {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("the API answered %s (%s): %s", resp.Status, mediaType, bytes.TrimSpace(snippet))
	}

	// Read the body with a Decoder, not an EventSource: an EventSource
	// reconnects when a stream ends, so it would send this POST again and
	// pay for the whole generation twice.
	fmt.Print("assistant: ")
	chunks := 0
	for ev, err := range eventsource.NewDecoder(resp.Body).All() {
		if err != nil {
			fmt.Println()
			return fmt.Errorf("the stream broke after %d chunks: %w", chunks, err)
		}
		if ev.Data == "[DONE]" {
			fmt.Printf("\nclient: done: [DONE] after %d chunks\n", chunks)
			return nil
		}
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string }
			}
			Error *apiError
		}
		if err := json.Unmarshal([]byte(ev.Data), &chunk); err != nil && ev.Type != "error" {
			fmt.Println()
			return fmt.Errorf("a chunk is not JSON: %w: %q", err, ev.Data)
		}
		if ev.Type == "error" || chunk.Error != nil {
			fmt.Println()
			return fmt.Errorf("the API reported an error in the stream: %s", streamError(ev.Data))
		}
		for _, c := range chunk.Choices {
			fmt.Print(c.Delta.Content)
		}
		chunks++
	}
	// Some compatible servers end the body without sending [DONE].
	fmt.Printf("\nclient: done: the body ended after %d chunks\n", chunks)
	return nil
}

// An apiError is the error object of OpenAI ({"error": {…}}) and Anthropic
// ({"type": "error", "error": {…}}) alike.
type apiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// streamError returns the message of an error event's data, or the data as
// it is when it holds no error object.
func streamError(data string) string {
	var v struct{ Error *apiError }
	if err := json.Unmarshal([]byte(data), &v); err != nil || v.Error == nil {
		return data
	}
	return v.Error.Type + ": " + v.Error.Message
}

const fakeKey = "sk-fake-key"

// fakeAPI answers POST /v1/chat/completions like an OpenAI-style API with
// "stream": true: one chunk per token, then "data: [DONE]".
type fakeAPI struct {
	fail   bool // send an error event after a few tokens
	status int  // answer with this status instead of a stream
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string
		Stream bool
	}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions":
		apiFail(w, http.StatusNotFound, "not_found", "no such endpoint")
		return
	case r.Header.Get("Authorization") != "Bearer "+fakeKey:
		apiFail(w, http.StatusUnauthorized, "invalid_api_key", "missing or wrong API key")
		return
	case json.NewDecoder(r.Body).Decode(&req) != nil || !req.Stream:
		apiFail(w, http.StatusBadRequest, "invalid_request_error", `the body must be JSON with "stream": true`)
		return
	case f.status != http.StatusOK:
		apiFail(w, f.status, "fake_error", fmt.Sprintf("the fake API answers %d %s, as -status asked",
			f.status, http.StatusText(f.status)))
		return
	}
	fmt.Printf("server: %s for model %s, authorized, streaming the answer\n", r.Method, req.Model)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	answer := "Server-Sent Events are a simple way for a server to push a stream of text events over one HTTP response."
	for i, tok := range strings.SplitAfter(answer, " ") {
		if f.fail && i == 8 {
			fmt.Fprint(w, "event: error\n"+`data: {"type":"error","error":{"type":"overloaded_error","message":"the model is overloaded"}}`+"\n\n")
			rc.Flush()
			return
		}
		data, _ := json.Marshal(map[string]any{
			"object":  "chat.completion.chunk",
			"model":   req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]string{"content": tok}}},
		})
		fmt.Fprintf(w, "data: %s\n\n", data)
		rc.Flush()
		select {
		case <-time.After(40 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// apiFail answers with an OpenAI-style JSON error.
func apiFail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]apiError{"error": {Type: typ, Message: msg}})
}

package eventsourcetest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

// On js the runtime parks a runtime.handleEvent goroutine for each call
// from JavaScript, such as a timer firing; it is not the package's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

func TestSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script est.Script
		want   string
	}{
		{"empty script", est.Script{}, ""},
		{"zero step", est.Script{{}, est.Data("x")}, "data: x\n\n"},
		{"data", est.Script{est.Data("hello")}, "data: hello\n\n"},
		{"multi-line data", est.Script{est.Data("a\nb\n")}, "data: a\ndata: b\ndata: \n\n"},
		{"empty data", est.Script{est.Data("")}, "data: \n\n"},
		{"event", est.Script{est.Send(est.Event{Type: "quote", ID: "7", Data: "x"})}, "event: quote\nid: 7\ndata: x\n\n"},
		{"comment", est.Script{est.Comment("ping")}, ": ping\n"},
		{"multi-line comment", est.Script{est.Comment("a\nb")}, ": a\n: b\n"},
		{"retry", est.Script{est.Retry(1500 * time.Millisecond)}, "retry: 1500\n"},
		{"raw", est.Script{est.Raw("\xef\xbb\xbfdata: \xff\x00\r\ndata:x\r\r\n")}, "\xef\xbb\xbfdata: \xff\x00\r\ndata:x\r\r\n"},
		{"drip", est.Script{est.Drip(est.Data("ab"), est.Comment("c"))}, "data: ab\n\n: c\n"},
		{"no auto flush", est.Script{est.AutoFlush(false), est.Data("a"), est.Data("b")}, "data: a\n\ndata: b\n\n"},
		{"flush", est.Script{est.Flush(), est.Data("a"), est.Flush()}, "data: a\n\n"},
		{"status 200", est.Script{est.Status(200), est.Data("a")}, "data: a\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.script)
			resp, body, err := get(t, srv, "/")
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
			assert.Equal(t, tc.want, body)
		})
	}
}

func TestScriptPerRequest(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("1")}, est.Script{est.Data("2")})
	for _, want := range []string{"1", "2", "2", "2"} {
		_, body, err := get(t, srv, "/")
		require.NoError(t, err)
		assert.Equal(t, "data: "+want+"\n\n", body)
	}
}

func TestNoScripts(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	resp, body, err := get(t, srv, "/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Empty(t, body)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Status(503, "Retry-After", "1"), est.Raw("overloaded")})
	resp, body, err := get(t, srv, "/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Empty(t, resp.Header.Get("Cache-Control"))
	assert.NotEqual(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "overloaded", body)
}

func TestStatusHeaders(t *testing.T) {
	t.Parallel()
	srv := newServer(t,
		est.Script{est.Status(200, "content-type", "text/plain", "X-A", "1", "X-A", "2")},
		est.Script{est.Status(200, "Content-Type", "", "Cache-Control", ""), est.Data("a")},
	)

	resp, _, err := get(t, srv, "/")
	require.NoError(t, err)
	assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	assert.Equal(t, []string{"1", "2"}, resp.Header.Values("X-A"))

	resp, body, err := get(t, srv, "/")
	require.NoError(t, err)
	assert.Empty(t, resp.Header.Values("Content-Type"), "an empty value removes the default and net/http's sniffing")
	assert.Empty(t, resp.Header.Values("Cache-Control"))
	assert.Equal(t, "data: a\n\n", body)
}

func TestStatusOddHeaders(t *testing.T) {
	t.Parallel()
	//lint:ignore SA5012 the odd length is what this test is about
	assert.Panics(t, func() { est.Status(200, "X-A") })
}

func TestRedirect(t *testing.T) {
	t.Parallel()
	srv := newServer(t,
		est.Script{est.Status(http.StatusTemporaryRedirect, "Location", "/next")},
		est.Script{est.Data("moved")},
	)
	resp, body, err := get(t, srv, "/first")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "data: moved\n\n", body)
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/first", reqs[0].URL)
	assert.Equal(t, "/next", reqs[1].URL)
}

func TestDrop(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("a"), est.Drop(), est.Data("never")})
	_, body, err := get(t, srv, "/")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "data: a\n\n", body)
}

func TestDropBeforeResponse(t *testing.T) {
	t.Parallel()
	for name, script := range map[string]est.Script{
		"Drop":             {est.Drop()},
		"DropAfter(0)":     {est.DropAfter(0), est.Data("never")},
		"Status then Drop": {est.Status(503), est.Drop()},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, script)
			resp, err := srv.Client().Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			require.Error(t, err)
		})
	}
}

func TestDropAfter(t *testing.T) {
	t.Parallel()
	const full = "id: 1\r\ndata: a\r\n\r\n"
	for n := 1; n <= len(full); n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.DropAfter(n), est.Raw(full), est.Data("never")})
			_, body, err := get(t, srv, "/")
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.Equal(t, full[:n], body)
		})
	}
	t.Run("counts from the step", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.Data("a"), est.DropAfter(2), est.Drip(est.Data("b"))})
		_, body, err := get(t, srv, "/")
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Equal(t, "data: a\n\nda", body)
	})
	t.Run("script ends first", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.DropAfter(100), est.Data("a")})
		_, body, err := get(t, srv, "/")
		require.NoError(t, err)
		assert.Equal(t, "data: a\n\n", body)
	})
}

func TestWait(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	srv := newServer(t, est.Script{est.Data("a"), est.Wait(gate), est.Data("b")})
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()

	first := make([]byte, len("data: a\n\n"))
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err)
	assert.Equal(t, "data: a\n\n", string(first))

	close(gate)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "data: b\n\n", string(rest))
}

func TestWaitHoldsHeaders(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	srv := newServer(t, est.Script{est.Wait(gate), est.Status(503)})
	got := make(chan int, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	_, err := srv.WaitRequests(t.Context(), 1)
	require.NoError(t, err)
	select {
	case code := <-got:
		t.Fatalf("response before the gate opened: %d", code)
	default:
	}
	close(gate)
	select {
	case code := <-got:
		assert.Equal(t, http.StatusServiceUnavailable, code)
	case <-time.After(5 * time.Second):
		t.Fatal("no response after the gate opened")
	}
}

func TestStallEndsWhenClientLeaves(t *testing.T) {
	t.Parallel()
	srv := est.NewServer(est.Script{est.Data("a"), est.Stall()})
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	_, err = io.ReadFull(resp.Body, make([]byte, len("data: a\n\n")))
	require.NoError(t, err)
	cancel()
	resp.Body.Close()
	closeWithin(t, srv) // the handler returned: Close waits for it
}

func TestStallEndsOnClose(t *testing.T) {
	t.Parallel()
	srv := est.NewServer(est.Script{est.Data("a"), est.Stall()})
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadFull(resp.Body, make([]byte, len("data: a\n\n")))
	require.NoError(t, err)

	closeWithin(t, srv)
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "a server that closes drops its streams")
}

func TestStallEndsOnCloseClientConnections(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("a"), est.Stall()}, est.Script{est.Data("b")})
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadFull(resp.Body, make([]byte, len("data: a\n\n")))
	require.NoError(t, err)

	srv.CloseClientConnections()
	_, err = io.ReadAll(resp.Body)
	require.Error(t, err)
	_, body, err := get(t, srv, "/")
	require.NoError(t, err)
	assert.Equal(t, "data: b\n\n", body)
}

func TestChunks(t *testing.T) {
	t.Parallel()
	chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }
	drip := ""
	for _, c := range "data: x\n\n" {
		drip += chunk(string(c))
	}
	tests := []struct {
		name   string
		script est.Script
		want   string
	}{
		{"flush after each step", est.Script{est.Data("a"), est.Data("b")}, chunk("data: a\n\n") + chunk("data: b\n\n")},
		{"no auto flush", est.Script{est.AutoFlush(false), est.Data("a"), est.Data("b"), est.Flush(), est.Data("c")},
			chunk("data: a\n\ndata: b\n\n") + chunk("data: c\n\n")},
		{"drip", est.Script{est.Drip(est.Data("x"))}, drip},
		{"drip without auto flush", est.Script{est.AutoFlush(false), est.Drip(est.Data("x"))}, drip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.script)
			head, body := rawGet(t, srv)
			assert.Contains(t, head, "Transfer-Encoding: chunked")
			assert.Equal(t, tc.want+"0\r\n\r\n", body)
		})
	}
	t.Run("unflushed response", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.AutoFlush(false), est.Data("a"), est.Data("b")})
		head, body := rawGet(t, srv)
		assert.Contains(t, head, "Content-Length: 18")
		assert.Equal(t, "data: a\n\ndata: b\n\n", body)
	})
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.Data("a"), est.Drop()})
		_, body := rawGet(t, srv)
		assert.Equal(t, chunk("data: a\n\n"), body, "no last chunk")
	})
}

func TestFeed(t *testing.T) {
	t.Parallel()
	var events []est.Event
	for i := 1; i <= 5; i++ {
		events = append(events, est.Event{ID: fmt.Sprint(i), Data: fmt.Sprint("e", i)})
	}
	want := func(ids ...int) string {
		var b strings.Builder
		for _, i := range ids {
			fmt.Fprintf(&b, "id: %d\ndata: e%d\n\n", i, i)
		}
		return b.String()
	}
	srv := newServer(t, est.Script{est.Feed(events, 2)})
	all := newServer(t, est.Script{est.Feed(events, 0)})
	tests := []struct {
		srv         *est.Server
		lastEventID string
		want        string
	}{
		{srv, "", want(1, 2)},
		{srv, "2", want(3, 4)},
		{srv, "4", want(5)},
		{srv, "5", ""},
		{srv, "unknown", want(1, 2)},
		{all, "", want(1, 2, 3, 4, 5)},
		{all, "3", want(4, 5)},
	}
	for _, tc := range tests {
		_, body, err := get(t, tc.srv, "/", "Last-Event-ID", tc.lastEventID)
		require.NoError(t, err)
		assert.Equal(t, tc.want, body, "Last-Event-ID %q", tc.lastEventID)
	}
}

func TestFeedThenDrop(t *testing.T) {
	t.Parallel()
	events := []est.Event{{Type: "t", ID: "1", Data: "a"}, {ID: "2", Data: "b"}}
	srv := newServer(t, est.Script{est.Feed(events, 1), est.Drop()})
	_, body, err := get(t, srv, "/", "Last-Event-ID", "1")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "id: 2\ndata: b\n\n", body)
}

func TestFunc(t *testing.T) {
	t.Parallel()
	var target *est.Server
	srv := newServer(t, est.Script{
		est.Data("first"),
		est.Func(func(req est.Request) est.Script {
			if req.URL == "/go" {
				return est.Script{est.Data(req.Method + " " + req.Header.Get("X-A"))}
			}
			return est.Script{est.Data("elsewhere")}
		}),
	}, est.Script{
		est.Func(func(est.Request) est.Script {
			return est.Script{est.Status(http.StatusTemporaryRedirect, "Location", target.URL+"/there")}
		}),
	})
	target = newServer(t, est.Script{est.Data("target")})

	_, body, err := get(t, srv, "/go", "X-A", "1")
	require.NoError(t, err)
	assert.Equal(t, "data: first\n\ndata: GET 1\n\n", body)

	_, body, err = get(t, srv, "/")
	require.NoError(t, err)
	assert.Equal(t, "data: target\n\n", body, "a Location known only after the server started")
	require.Len(t, target.Requests(), 1)
	assert.Equal(t, "/there", target.Requests()[0].URL)
}

func TestRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/s?x=1", strings.NewReader("hello"))
	require.NoError(t, err)
	req.Header.Set("X-Token", "t")
	req.Header.Set("Last-Event-ID", "9")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	assert.Equal(t, http.MethodPost, got.Method)
	assert.Equal(t, "/s?x=1", got.URL)
	assert.Equal(t, "HTTP/1.1", got.Proto)
	assert.Equal(t, "t", got.Header.Get("X-Token"))
	assert.Equal(t, "hello", got.Body)
	assert.Equal(t, "9", got.LastEventID)

	got.Header.Set("X-Token", "changed")
	assert.Equal(t, "t", srv.Requests()[0].Header.Get("X-Token"), "Requests returns a copy")
}

func TestWaitRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	reqs, err := srv.WaitRequests(t.Context(), 0)
	require.NoError(t, err)
	assert.Empty(t, reqs)

	done := make(chan error, 1)
	go func() {
		for range 2 {
			if err := drain(srv); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reqs, err = srv.WaitRequests(t.Context(), 2)
	require.NoError(t, err)
	assert.Len(t, reqs, 2)
	require.NoError(t, <-done)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	reqs, err = srv.WaitRequests(ctx, 3)
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, reqs, 2, "the requests so far")
}

func TestRequestsConcurrently(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("a")})
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { assert.NoError(t, drain(srv)) })
		wg.Go(func() { _ = srv.Requests() })
	}
	wg.Wait()
	assert.Len(t, srv.Requests(), n)
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := est.NewTLSServer(est.Script{est.Data("a")})
	t.Cleanup(srv.Close)
	resp, body, err := get(t, srv, "/")
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1", resp.Proto)
	assert.Equal(t, "data: a\n\n", body)
	assert.True(t, strings.HasPrefix(srv.URL, "https://"))
}

func TestHTTP2(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	srv := est.NewUnstartedServer(
		est.Script{est.Data("a"), est.Wait(gate), est.Drop()},
		est.Script{est.Data("b"), est.Stall()},
	)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	first := make([]byte, len("data: a\n\n"))
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err)
	assert.Equal(t, "data: a\n\n", string(first))
	close(gate)
	_, err = io.ReadAll(resp.Body)
	require.Error(t, err, "Drop resets the stream")

	resp2, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp2.Body.Close()
	_, err = io.ReadFull(resp2.Body, make([]byte, len("data: b\n\n")))
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "HTTP/2.0", reqs[1].Proto)

	closeWithin(t, srv) // ends the stall
	_, err = io.ReadAll(resp2.Body)
	require.Error(t, err)
}

func newServer(t *testing.T, scripts ...est.Script) *est.Server {
	t.Helper()
	srv := est.NewServer(scripts...)
	t.Cleanup(srv.Close)
	return srv
}

// get makes a GET request to path with headers given as key-value pairs, and
// reads the whole body. err is the error of reading the body.
func get(t *testing.T, srv *est.Server, path string, kv ...string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] != "" {
			req.Header.Set(kv[i], kv[i+1])
		}
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// drain makes a GET request and reads the body to its end; unlike get, it
// may run on any goroutine.
func drain(srv *est.Server) error {
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// rawGet sends a GET over a new TCP connection and returns the response
// head and the body as they came over the wire, chunk framing included.
func rawGet(t *testing.T, srv *est.Server) (head, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	raw, _ := io.ReadAll(conn) // a dropped connection may end in a reset
	head, body, ok := strings.Cut(string(raw), "\r\n\r\n")
	require.True(t, ok, "no response head in %q", raw)
	return head, body
}

// closeWithin closes srv and fails the test if that takes 5 seconds, which
// means a handler did not return.
func closeWithin(t *testing.T, srv *est.Server) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Server.Close did not return: a handler is stuck")
	}
}

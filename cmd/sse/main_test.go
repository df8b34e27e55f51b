package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

// TestMain runs the command itself, main and all, when the test binary is
// started with SSE_TEST_MAIN=1 (see TestSignal), and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv("SSE_TEST_MAIN") == "1" {
		main()
	}
	// On js the runtime parks a runtime.handleEvent goroutine for each call
	// from JavaScript; it is not the command's.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

type result struct {
	code           int
	stdout, stderr string
}

// runSSE runs the command with args. The timeout only keeps a broken test
// from hanging: a run it cuts short returns 130, which no test expects.
func runSSE(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func newServer(t *testing.T, scripts ...est.Script) *est.Server {
	t.Helper()
	srv := est.NewServer(scripts...)
	t.Cleanup(srv.Close)
	return srv
}

func TestJSON(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{
		est.Send(est.Event{Type: "quote", ID: "1", Data: "a\nb"}),
		est.Comment("heartbeat"),
		est.Data(`<&> "x"`),
		est.Stall(),
	})
	res := runSSE(t, "-json", "-count", "2", srv.URL)
	require.Equal(t, exitOK, res.code, res.stderr)

	type event struct{ Type, Data, ID string }
	var got []event
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	for {
		var ev event
		err := dec.Decode(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, ev)
	}
	assert.Equal(t, []event{{"quote", "a\nb", "1"}, {"message", `<&> "x"`, "1"}}, got)
	assert.Equal(t, 2, strings.Count(res.stdout, "\n"), "one line per event")
	assert.Contains(t, res.stdout, `{"type":"quote","data":"a\nb","id":"1"}`)
	assert.Contains(t, res.stdout, `<&>`, "no HTML escaping")
}

func TestText(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{
		est.Send(est.Event{Type: "quote", ID: "1", Data: "a\nb"}),
		est.Data(""),
		est.Stall(),
	})
	res := runSSE(t, "-count", "2", srv.URL)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "event: quote\nid: 1\ndata: a\ndata: b\n\nid: 1\ndata: \n\n", res.stdout)
	assert.Contains(t, res.stderr, "connected to "+srv.URL)
}

func TestEventFilter(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{
		est.Send(est.Event{Type: "a", Data: "1"}),
		est.Send(est.Event{Type: "b", Data: "2"}),
		est.Data("3"),
		est.Send(est.Event{Type: "c", Data: "4"}),
		est.Send(est.Event{Type: "a", Data: "5"}),
		est.Stall(),
	})
	res := runSSE(t, "-event", "a", "-event", "c", "-count", "3", srv.URL)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "event: a\ndata: 1\n\nevent: c\ndata: 4\n\nevent: a\ndata: 5\n\n", res.stdout)
}

func TestFlagsAfterURL(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
	res := runSSE(t, srv.URL, "-json", "-count", "1")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, `{"type":"message","data":"x","id":""}`+"\n", res.stdout)
}

func TestURLWithoutScheme(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := strings.Cut(hostPort, ":")
	for _, host := range []string{hostPort, "localhost:" + port} {
		t.Run(host, func(t *testing.T) {
			res := runSSE(t, "-count", "1", host+"/events")
			require.Equal(t, exitOK, res.code, res.stderr)
			assert.Equal(t, "data: x\n\n", res.stdout)
			assert.Contains(t, res.stderr, "connected to http://"+host+"/events")
		})
	}
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/events", reqs[1].URL)
}

func TestWithScheme(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"localhost:8080/events":              "http://localhost:8080/events",
		"127.0.0.1:8080/events":              "http://127.0.0.1:8080/events",
		"[::1]:8080/x":                       "http://[::1]:8080/x",
		"example.com":                        "http://example.com",
		"localhost:8080/x?next=http://a.b/c": "http://localhost:8080/x?next=http://a.b/c",
		"http://a.test/x":                    "http://a.test/x",
		"HTTPS://a.test/x":                   "HTTPS://a.test/x",
		"ftp://a.test/x":                     "ftp://a.test/x", // refused later, not made http
	}
	for in, want := range tests {
		assert.Equal(t, want, withScheme(in), in)
	}
}

func TestRequestFlags(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
	res := runSSE(t, "-X", "PUT", "-d", "hello",
		"-H", "X-Token: t1", "-H", "Content-Type:text/plain", "-last-event-id", "42",
		"-count", "1", srv.URL+"/feed?x=1")
	require.Equal(t, exitOK, res.code, res.stderr)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	assert.Equal(t, http.MethodPut, got.Method)
	assert.Equal(t, "/feed?x=1", got.URL)
	assert.Equal(t, "hello", got.Body)
	assert.Equal(t, "t1", got.Header.Get("X-Token"))
	assert.Equal(t, "text/plain", got.Header.Get("Content-Type"))
	assert.Equal(t, "42", got.LastEventID)
	assert.Equal(t, "text/event-stream", got.Header.Get("Accept"))
}

// TestRequestHeaders shows the headers that -H, -u and -d send, and that
// -H 'Key:' removes, the defaults included.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded"
	basic := func(userPass string) []string {
		return []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))}
	}
	tests := map[string]struct {
		args []string
		key  string
		want []string // the values that the server got
	}{
		"-u":                   {[]string{"-u", "alice:s3cret"}, "Authorization", basic("alice:s3cret")},
		"-u, empty password":   {[]string{"-u", "alice:"}, "Authorization", basic("alice:")},
		"-u, colon in it":      {[]string{"-u", "alice:a:b"}, "Authorization", basic("alice:a:b")},
		"-H replaces -u":       {[]string{"-H", "Authorization: Bearer t", "-u", "alice:s3cret"}, "Authorization", []string{"Bearer t"}},
		"-d":                   {[]string{"-d", "a=1"}, "Content-Type", []string{form}},
		"-d, -H":               {[]string{"-d", "{}", "-H", "Content-Type: application/json"}, "Content-Type", []string{"application/json"}},
		"-H, -d":               {[]string{"-H", "Content-Type: application/json", "-d", "{}"}, "Content-Type", []string{"application/json"}},
		"-d and -X":            {[]string{"-X", "PUT", "-d", "a=1"}, "Content-Type", []string{form}},
		"no -d":                {nil, "Content-Type", nil},
		"remove Accept":        {[]string{"-H", "Accept:"}, "Accept", nil},
		"remove Cache-Control": {[]string{"-H", "Cache-Control:  "}, "Cache-Control", nil},
		"keep the other":       {[]string{"-H", "Accept:"}, "Cache-Control", []string{"no-cache"}},
		"remove -d's":          {[]string{"-d", "a=1", "-H", "Content-Type:"}, "Content-Type", nil},
		"remove -u's":          {[]string{"-u", "alice:s3cret", "-H", "authorization:"}, "Authorization", nil},
		"remove an earlier -H": {[]string{"-H", "X-A: 1", "-H", "X-A:"}, "X-A", nil},
		"remove, set again":    {[]string{"-H", "Accept:", "-H", "Accept: application/json"}, "Accept", []string{"application/json"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
			res := runSSE(t, append(tt.args, "-count", "1", srv.URL)...)
			require.Equal(t, exitOK, res.code, res.stderr)
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.want, reqs[0].Header.Values(tt.key))
		})
	}
}

func TestBasicAuthRedirect(t *testing.T) {
	t.Parallel()
	other := newServer(t, est.Script{est.Data("x"), est.Stall()})
	srv := newServer(t, est.Script{est.Status(http.StatusTemporaryRedirect, "Location", other.URL+"/b")})
	res := runSSE(t, "-u", "alice:s3cret", "-count", "1", srv.URL+"/a")
	require.Equal(t, exitOK, res.code, res.stderr)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	user, pass, ok := (&http.Request{Header: reqs[0].Header}).BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "alice", user)
	assert.Equal(t, "s3cret", pass)
	reqs = other.Requests()
	require.Len(t, reqs, 1)
	assert.Empty(t, reqs[0].Header.Values("Authorization"), "not sent to another origin")
}

func TestInsecure(t *testing.T) {
	t.Parallel()
	srv := est.NewUnstartedServer(est.Script{est.Data("x"), est.Stall()})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)

	res := runSSE(t, "-count", "1", srv.URL)
	assert.Equal(t, exitError, res.code)
	assert.Contains(t, res.stderr, "certificate")
	assert.Empty(t, res.stdout)

	res = runSSE(t, "-k", "-count", "1", srv.URL)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "data: x\n\n", res.stdout)
	assert.Len(t, srv.Requests(), 1, "only -k got through")
}

func TestDataFromFile(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), "req.json")
	require.NoError(t, os.WriteFile(name, []byte(`{"prompt":"hi"}`), 0o600))
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})

	res := runSSE(t, "-d", "@"+name, "-count", "1", srv.URL)
	require.Equal(t, exitOK, res.code, res.stderr)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.MethodPost, reqs[0].Method, "-d without -X posts")
	assert.Equal(t, `{"prompt":"hi"}`, reqs[0].Body)

	res = runSSE(t, "-d", "@"+name+".missing", srv.URL)
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "-d:")
	assert.Len(t, srv.Requests(), 1, "no request for a usage error")
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Status(http.StatusNotFound), est.Raw("no such feed\nmore")})
	res := runSSE(t, "-retry", "1ms", srv.URL)
	assert.Equal(t, exitError, res.code)
	assert.Empty(t, res.stdout)
	assert.Contains(t, res.stderr, "sse: Closed: error:")
	assert.Contains(t, res.stderr, "404")
	assert.Contains(t, res.stderr, "no such feed")
	assert.Equal(t, 1, strings.Count(res.stderr, "404"), "reported once")
	assert.NotContains(t, res.stderr, "more", "only the first line of the body")
	assert.Len(t, srv.Requests(), 1, "a 404 is not retried")
}

func TestMaxRetries(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Status(http.StatusServiceUnavailable)})
	res := runSSE(t, "-retry", "1ms", "-max-retry-delay", "2ms", "-max-retries", "2", srv.URL)
	assert.Equal(t, exitError, res.code)
	assert.Len(t, srv.Requests(), 3, "the first attempt and two reconnections")
	assert.Equal(t, 2, strings.Count(res.stderr, "sse: Connecting: error:"), res.stderr)
	assert.Equal(t, 1, strings.Count(res.stderr, "sse: Closed: error:"), res.stderr)
	assert.Contains(t, res.stderr, "503")
}

func TestReconnectResumes(t *testing.T) {
	t.Parallel()
	srv := newServer(t,
		est.Script{est.Send(est.Event{ID: "1", Data: "a"}), est.Drop()},
		est.Script{est.Send(est.Event{ID: "2", Data: "b"}), est.Stall()},
	)
	res := runSSE(t, "-retry", "1ms", "-json", "-count", "2", srv.URL)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, `{"type":"message","data":"a","id":"1"}`+"\n"+`{"type":"message","data":"b","id":"2"}`+"\n", res.stdout)
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[0].LastEventID)
	assert.Equal(t, "1", reqs[1].LastEventID)
	assert.Contains(t, res.stderr, "sse: Connecting: error:")
	assert.Contains(t, res.stderr, `sse: Open: reconnected to `+srv.URL+` with Last-Event-ID "1"`)
}

func TestSilent(t *testing.T) {
	t.Parallel()
	dropThen404 := []est.Script{
		{est.Data("a"), est.Drop()},
		{est.Status(http.StatusNotFound), est.Raw("gone")},
	}
	tests := map[string]struct {
		scripts []est.Script
		args    []string
		code    int
		want    []string // in stderr
		lines   int      // of stderr
	}{
		"status lines": {
			scripts: dropThen404, args: []string{"-retry", "1ms"}, code: exitError,
			want:  []string{"sse: Open: connected to", "sse: Connecting: error:", "sse: Closed: error:", "404 Not Found: gone"},
			lines: 3,
		},
		"-s keeps the error that ends the run": {
			scripts: dropThen404, args: []string{"-s", "-retry", "1ms"}, code: exitError,
			want:  []string{"sse: Closed: error:", "404 Not Found: gone"},
			lines: 1,
		},
		"-s on success": {
			scripts: []est.Script{{est.Data("a"), est.Stall()}}, args: []string{"-s", "-count", "1"},
			code: exitOK,
		},
		"-s keeps a usage error": {
			args: []string{"-s", "-count", "-1"}, code: exitUsage,
			want:  []string{"sse: -count", `Run "sse -help"`},
			lines: 2,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.scripts...)
			res := runSSE(t, append(tt.args, srv.URL)...)
			assert.Equal(t, tt.code, res.code, res.stderr)
			for _, want := range tt.want {
				assert.Contains(t, res.stderr, want)
			}
			assert.Equal(t, tt.lines, strings.Count(res.stderr, "\n"), res.stderr)
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	secrets := []string{"alice", "s3cret", "t0k3n", "fr4g"}
	const userinfo, path = "alice:s3cret@", "/x?token=t0k3n#fr4g"
	resumes := []est.Script{
		{est.Send(est.Event{ID: "1", Data: "a"}), est.Drop()},
		{est.Send(est.Event{ID: "2", Data: "b"}), est.Drop()},
		{est.Status(http.StatusNotFound), est.Raw("gone")},
	}
	tests := map[string]struct {
		scripts []est.Script // nil for a server that is gone
		args    func(hostPort string) []string
		code    int
		want    string // the redacted URL, with "HOST" for hostPort
	}{
		"status lines and errors": {
			scripts: resumes, code: exitError, want: "reconnected to http://HOST/x with",
			args: func(hp string) []string { return []string{"-retry", "1ms", "http://" + userinfo + hp + path} },
		},
		"without a scheme": {
			scripts: resumes, code: exitError, want: "connected to http://HOST/x\n",
			args: func(hp string) []string { return []string{"-retry", "1ms", userinfo + hp + path} },
		},
		"no server": {
			code: exitError, want: "GET http://HOST/x:",
			args: func(hp string) []string { return []string{"-max-retries", "0", "http://" + userinfo + hp + path} },
		},
		"two URLs": {
			code: exitUsage, want: `["http://HOST/x" "http://HOST/x"]`,
			args: func(hp string) []string { u := "http://" + userinfo + hp + path; return []string{u, u} },
		},
		"bad scheme": {
			code: exitUsage, want: `"ftp://HOST/x"`,
			args: func(hp string) []string { return []string{"ftp://" + userinfo + hp + path} },
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.scripts...)
			if tt.scripts == nil {
				srv.Close()
			}
			hostPort := strings.TrimPrefix(srv.URL, "http://")
			res := runSSE(t, tt.args(hostPort)...)
			assert.Equal(t, tt.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, strings.ReplaceAll(tt.want, "HOST", hostPort))
			for _, secret := range secrets {
				assert.NotContains(t, res.stderr, secret)
			}
		})
	}
}

func TestNoContent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Status(http.StatusNoContent)})
	res := runSSE(t, srv.URL)
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.Len(t, srv.Requests(), 1)
}

func TestOneShot(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("a"), est.Data("[DONE]")})
	res := runSSE(t, "-max-retries", "0", srv.URL)
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "data: a\n\ndata: [DONE]\n\n", res.stdout)
	assert.Len(t, srv.Requests(), 1)
}

func TestEventTooLarge(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("small"), est.Data(strings.Repeat("x", 100))})
	res := runSSE(t, "-max-event-size", "20", "-retry", "1ms", srv.URL)
	assert.Equal(t, exitError, res.code)
	assert.Equal(t, "data: small\n\n", res.stdout)
	assert.Len(t, srv.Requests(), 1, "a too large event is not retried")
}

// TestInterrupt also shows that the output is not buffered, -N or not: the
// event is written while the stream is still open.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		flags  []string
		cause  error // of the context's end; nil for a plain cancel
		code   int
		stderr string // its last line, or "" for an empty stderr
	}{
		"cancel":  {nil, nil, exitInterrupted, "sse: interrupted\n"},
		"SIGINT":  {nil, signalError{os.Interrupt}, exitInterrupted, "sse: interrupted\n"},
		"SIGTERM": {nil, signalError{syscall.SIGTERM}, exitTerminated, "sse: terminated\n"},
		"-N":      {[]string{"-N"}, nil, exitInterrupted, "sse: interrupted\n"},
		"-s":      {[]string{"-s"}, signalError{syscall.SIGTERM}, exitTerminated, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Data("a"), est.Stall()})
			ctx, cancel := context.WithCancelCause(t.Context())
			ctx, stop := context.WithTimeout(ctx, 10*time.Second)
			defer stop()
			stdout := &cancelWriter{cancel: func() { cancel(tt.cause) }}
			var stderr bytes.Buffer
			code := run(ctx, append(tt.flags, srv.URL), stdout, &stderr)
			assert.Equal(t, tt.code, code, stderr.String())
			assert.Equal(t, "data: a\n\n", stdout.buf.String())
			if tt.stderr == "" {
				assert.Empty(t, stderr.String())
				return
			}
			assert.True(t, strings.HasSuffix(stderr.String(), tt.stderr), stderr.String())
		})
	}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("a"), est.Stall()})
	var stderr bytes.Buffer
	code := run(t.Context(), []string{srv.URL}, errWriter{}, &stderr)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr.String(), "writing the output")
}

func TestUsage(t *testing.T) {
	t.Parallel()
	const u = "http://a.test"
	tests := map[string]struct {
		args []string
		want string // in stderr
	}{
		"no URL":                {nil, "sse: no URL"},
		"two URLs":              {[]string{u, "http://b.test"}, "sse: one URL only"},
		"bad int":               {[]string{"-count", "x", u}, `invalid value "x" for flag -count`},
		"negative count":        {[]string{"-count", "-1", u}, "sse: -count: must not be negative"},
		"header without key":    {[]string{"-H", ": v", u}, `for flag -H: want "Key: Value"`},
		"header no colon":       {[]string{"-H", "X-A", u}, `for flag -H: want "Key: Value"`},
		"bad header name":       {[]string{"-H", "X A: v", u}, `for flag -H: invalid header name "X A"`},
		"header Last-Event-ID":  {[]string{"-H", "last-event-id: 5", u}, "for flag -H: send Last-Event-ID with -last-event-id"},
		"control in header":     {[]string{"-H", "X-A: a\x01b", u}, "for flag -H: the value holds a control character"},
		"unknown flag":          {[]string{"-nope", u}, "flag provided but not defined: -nope"},
		"bad URL":               {[]string{"ftp://a.test"}, `sse: invalid URL "ftp://a.test": the scheme must be http or https`},
		"no host":               {[]string{"http:///x"}, "no host"},
		"negative retry":        {[]string{"-retry", "-1s", u}, "sse: -retry: negative duration"},
		"zero max-retry-delay":  {[]string{"-max-retry-delay", "0", u}, "sse: -max-retry-delay: the duration must be positive"},
		"max-retries below -1":  {[]string{"-max-retries", "-2", u}, "sse: -max-retries: want -1"},
		"negative idle-timeout": {[]string{"-idle-timeout", "-1ms", u}, "sse: -idle-timeout: negative duration"},
		"zero event size":       {[]string{"-max-event-size", "0", u}, "sse: -max-event-size: the size must be positive"},
		"negative event size":   {[]string{"-max-event-size", "-5", u}, "sse: -max-event-size: the size must be positive"},
		"bad method":            {[]string{"-X", "GE T", u}, `sse: -X: invalid method "GE T"`},
		"empty method":          {[]string{"-X", "", u}, `sse: -X: invalid method ""`},
		"control in ID":         {[]string{"-last-event-id", "a\nb", u}, "sse: -last-event-id: the ID holds a control character"},
		"-u without colon":      {[]string{"-u", "alice", u}, "sse: -u: want user:password"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := runSSE(t, tt.args...)
			assert.Equal(t, exitUsage, res.code)
			assert.Contains(t, res.stderr, tt.want)
			assert.NotContains(t, res.stderr, "With", "the flag, not the library's option")
			assert.NotContains(t, res.stderr, "eventsource:")
			assert.Contains(t, res.stderr, `Run "sse -help" for usage.`)
			assert.NotContains(t, res.stderr, "Exit status:", "a hint, not the whole usage")
			assert.Empty(t, res.stdout)
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	res := runSSE(t, "-help")
	assert.Equal(t, exitOK, res.code)
	assert.Contains(t, res.stdout, "Usage: sse [flags] URL")
	assert.Contains(t, res.stdout, "-max-retries")
	assert.Contains(t, res.stdout, "Exit status:")
	assert.Contains(t, res.stdout, "130")
	assert.Contains(t, res.stdout, "143")
	assert.Contains(t, res.stdout, "-N")
	assert.Contains(t, res.stdout, "never buffered")
	assert.Empty(t, res.stderr)
}

func TestDoubleDash(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("x"), est.Stall()})
	res := runSSE(t, "-count", "1", "--", srv.URL)
	assert.Equal(t, exitOK, res.code, res.stderr)
	res = runSSE(t, "--", srv.URL, "-json")
	assert.Equal(t, exitUsage, res.code, `after "--", -json is an argument`)
}

// cancelWriter collects what is written and cancels a context on the first
// write, as a Ctrl-C after the first event would.
type cancelWriter struct {
	buf    bytes.Buffer // not embedded: its WriteString would bypass Write
	cancel func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	defer w.cancel()
	return w.buf.Write(p)
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

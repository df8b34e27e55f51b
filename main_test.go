package eventsource_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"
import "go.uber.org/goleak"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// This file holds TestMain and the helpers that the tests share: servers
// (eventsourcetest, or a raw listener where HTTP itself must break), an
// EventSource that runs until the end of the test, a tape of its callbacks,
// and the Decoder harness.

// The leak check covers every test. On js the runtime parks a
// runtime.handleEvent goroutine for each call from JavaScript, such as a
// timer firing; it is not the package's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

// newServer starts an eventsourcetest server that answers request n with
// scripts[n-1], and every request after the last script with the last one.
// It is closed at the end of the test.
func newServer(t testing.TB, scripts ...est.Script) *est.Server {
	t.Helper()
	srv := est.NewServer(scripts...)
	t.Cleanup(srv.Close)
	return srv
}

// newES returns an EventSource for srv that uses srv's own client, so that
// srv.Close also closes the client's idle connections; opts come after it.
func newES(t *testing.T, srv *est.Server, opts ...eventsource.Option) *eventsource.EventSource {
	t.Helper()
	es, err := eventsource.New(srv.URL, append([]eventsource.Option{eventsource.WithHTTPClient(srv.Client())}, opts...)...)
	require.NoError(t, err)
	return es
}

// run runs es.Run in a goroutine and returns a channel with its result. At
// the end of the test, es is closed and Run must have returned.
func run(t *testing.T, es *eventsource.EventSource) <-chan error {
	t.Helper()
	return runCtx(t, context.Background(), es)
}

// runCtx is run with a context.
func runCtx(t *testing.T, ctx context.Context, es *eventsource.EventSource) <-chan error {
	t.Helper()
	result := make(chan error, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		result <- es.Run(ctx)
	}()
	t.Cleanup(func() {
		es.Close()
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return result
}

// recv returns the next value of ch, and fails the test after 5 s.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	return recvWithin(t, ch, 5*time.Second)
}

// recvWithin is recv for a test that does much more work than most, such
// as hundreds of reconnections, and may share the CPU with the others.
func recvWithin[T any](t testing.TB, ch <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatal("timed out waiting on a channel")
	}
	var zero T
	return zero
}

// fastRetry makes every reconnection wait pass at once.
func fastRetry() eventsource.Option { return eventsource.WithClock(eventsource.NewFakeClock(true)) }

// zeroJitter makes the reconnection delays exact.
var zeroJitter = eventsource.WithJitter(noJitter)

func noJitter(time.Duration) time.Duration { return 0 }

func halfJitter(d time.Duration) time.Duration { return d / 2 }

// lastingAttempts makes each attempt last a second on clock, so that the
// least gap between attempts (TestAttemptGap) does not hide the backoff.
func lastingAttempts(clock *eventsource.FakeClock) eventsource.Option {
	return eventsource.WithRequestHook(func(*http.Request) error {
		clock.Advance(time.Second)
		return nil
	})
}

// onRunGoroutine reports whether its caller runs on a goroutine whose stack
// passes through EventSource.Run.
func onRunGoroutine() bool {
	pcs := make([]uintptr, 100)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".(*EventSource).Run") {
			return true
		}
		if !more {
			return false
		}
	}
}

// A tape records what the callbacks of an EventSource saw. Its fields are
// written on Run's goroutine: read them after Run returned.
type tape struct {
	events   []eventsource.Event
	errs     []error
	states   []eventsource.ReadyState // ReadyState during each OnError
	ids      []string                 // LastEventID during each OnError
	comments []string
	opens    int
	stopAt   int // Close after this many events; 0 for never
}

// listen sets the callbacks of es to record on a new tape.
func listen(es *eventsource.EventSource) *tape {
	tp := &tape{}
	es.OnOpen(func() { tp.opens++ })
	es.OnComment(func(c string) { tp.comments = append(tp.comments, c) })
	es.OnEvent(func(ev eventsource.Event) {
		tp.events = append(tp.events, ev)
		if len(tp.events) == tp.stopAt {
			es.Close()
		}
	})
	es.OnError(func(err error) {
		tp.errs = append(tp.errs, err)
		tp.states = append(tp.states, es.ReadyState())
		tp.ids = append(tp.ids, es.LastEventID())
	})
	return tp
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// A raw is a server on a raw listener, for where HTTP itself must break.
type raw struct {
	url     string
	client  *http.Client    // its connections close at the end of the test
	reached <-chan struct{} // closed once the server has read a request head
	gone    <-chan struct{} // receives when the client closes a connection
}

// rawServer listens on loopback and answers each connection by reading the
// request head, writing reply, and then nothing: with reply "" it never
// answers; with part of a response head it stops in the middle of the
// headers.
func rawServer(t *testing.T, reply string) *raw {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := make(chan struct{}, 16)
	reached := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	var once sync.Once
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() {
				defer func() { closed <- struct{}{} }()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.TrimRight(line, "\r\n") == "" {
						break
					}
				}
				once.Do(func() { close(reached) })
				if _, err := conn.Write([]byte(reply)); err != nil {
					return
				}
				_, _ = r.ReadByte() // until the client closes the connection
			})
		}
	})
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return &raw{url: "http://" + ln.Addr().String() + "/", client: &http.Client{Transport: tr}, reached: reached, gone: closed}
}

// decComment is a comment line as the Decoder hands it to OnComment. A trace
// mixes decComment and eventsource.Event values, so a test sees comments and
// events in the order the Decoder reported them.
type decComment string

func decMsg(data string) eventsource.Event {
	return eventsource.Event{Type: "message", Data: data}
}

func decEv(typ, data, id string) eventsource.Event {
	return eventsource.Event{Type: typ, Data: data, ID: id}
}

// decodeResult is everything a Decoder reported for one stream.
type decodeResult struct {
	trace     []any // eventsource.Event and decComment, in the order reported
	lastID    string
	retry     time.Duration
	retrySeen bool
	err       error // the error that ended the stream
}

// decodeAll runs a Decoder over r until Next fails. max > 0 sets the maximum
// event size; comments sets an OnComment handler. On the way it checks two
// rules that hold for every stream: right after Next returns an event,
// LastEventID is that event's ID; and once Next failed, it fails again with
// the same error.
func decodeAll(t *testing.T, r io.Reader, max int, comments bool) decodeResult {
	t.Helper()
	return decodeAllLong(t, r, max, comments, 0)
}

// decodeAllLong is decodeAll with a Decoder that reads data lines of long
// bytes or more straight into a data buffer when the read buffer does not
// hold them whole (see SetLongData); 0 leaves the default.
func decodeAllLong(t *testing.T, r io.Reader, max int, comments bool, long int) decodeResult {
	t.Helper()
	d := eventsource.NewDecoder(r)
	if long > 0 {
		eventsource.SetLongData(d, long)
	}
	if max > 0 {
		d.SetMaxEventSize(max)
	}
	var res decodeResult
	if comments {
		d.OnComment(func(c string) { res.trace = append(res.trace, decComment(c)) })
	}
	for {
		ev, err := d.Next()
		if err != nil {
			res.err = err
			break
		}
		res.trace = append(res.trace, ev)
		if id := d.LastEventID(); id != ev.ID {
			t.Errorf("LastEventID() = %q right after an event with ID %q", id, ev.ID)
		}
		if len(res.trace) > 1<<20 {
			t.Fatal("Next keeps returning events")
		}
	}
	for range 2 {
		_, err := d.Next()
		assert.Equal(t, res.err, err, "Next after an error")
	}
	res.lastID = d.LastEventID()
	res.retry, res.retrySeen = d.Retry()
	return res
}

// checkDecoder decodes in through every reader of decoderReaders, without an
// OnComment handler, and split in two at every offset (with and without
// io.EOF along with the last bytes), and wants the same result each time.
func checkDecoder(t *testing.T, in []byte, max int, want decodeResult) {
	t.Helper()
	for _, rd := range decoderReaders() {
		if !assertDecoded(t, want, decodeAll(t, rd.new(in), max, true), rd.name) {
			return
		}
	}
	var events []any
	for _, v := range want.trace {
		if _, ok := v.(decComment); !ok {
			events = append(events, v)
		}
	}
	for _, rd := range decoderReaders()[1:3] {
		for _, long := range []int{6, 16} {
			how := fmt.Sprintf("%s, data lines of %d bytes or more read straight", rd.name, long)
			if !assertDecoded(t, want, decodeAllLong(t, rd.new(in), max, true, long), how) {
				return
			}
		}
	}
	noComments := want
	noComments.trace = events
	if !assertDecoded(t, noComments, decodeAll(t, bytes.NewReader(in), max, false), "without OnComment") {
		return
	}
	for _, k := range splitOffsets(len(in)) {
		for _, eof := range []bool{false, true} {
			r := &chunkReader{chunks: [][]byte{in[:k], in[k:]}, eofWithData: eof}
			how := fmt.Sprintf("split at %d of %d (%q | %q), EOF with data %t", k, len(in), cut(in[:k], false), cut(in[k:], true), eof)
			if !assertDecoded(t, want, decodeAll(t, r, max, true), how) {
				return
			}
		}
	}
}

// assertDecoded reports whether got is want, and why not.
func assertDecoded(t *testing.T, want, got decodeResult, how string) bool {
	t.Helper()
	ok := assert.Equal(t, want.trace, got.trace, how)
	if want.err == io.EOF {
		ok = assert.Equal(t, io.EOF, got.err, how) && ok
	} else {
		ok = assert.ErrorIs(t, got.err, want.err, how) && ok
	}
	ok = assert.Equal(t, want.lastID, got.lastID, "LastEventID, %s", how) && ok
	ok = assert.Equal(t, want.retry, got.retry, "Retry, %s", how) && ok
	ok = assert.Equal(t, want.retrySeen, got.retrySeen, "Retry seen, %s", how) && ok
	return ok
}

// cut shortens long inputs in failure messages to the bytes around a split.
func cut(b []byte, head bool) []byte {
	const n = 24
	if len(b) <= n {
		return b
	}
	if head {
		return b[:n]
	}
	return b[len(b)-n:]
}

// splitOffsets is every offset of an input of n bytes, or for long inputs
// the first and last 256 and every 61st.
func splitOffsets(n int) []int {
	var ks []int
	for k := 0; k <= n; k++ {
		if n <= 8<<10 || k < 256 || n-k < 256 || k%61 == 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

type decoderReader struct {
	name string
	new  func(in []byte) io.Reader
}

func decoderReaders() []decoderReader {
	return []decoderReader{
		{"whole", func(in []byte) io.Reader { return bytes.NewReader(in) }},
		{"OneByteReader", func(in []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) }},
		{"HalfReader", func(in []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(in)) }},
		{"DataErrReader", func(in []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(in)) }},
		{"DataErrReader(OneByteReader)", func(in []byte) io.Reader {
			return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(in)))
		}},
	}
}

// chunkReader returns at most one chunk per Read, and with eofWithData
// returns io.EOF along with the last bytes.
type chunkReader struct {
	chunks      [][]byte
	eofWithData bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	r.dropEmpty()
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	r.dropEmpty()
	if len(r.chunks) == 0 && r.eofWithData {
		return n, io.EOF
	}
	return n, nil
}

func (r *chunkReader) dropEmpty() {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
}

// endlessReader returns prefix and then pattern over and over, and counts
// the bytes it returned in n. With a limit > 0, it ends after limit bytes, so
// that a Decoder that buffers without bound fails a test instead of taking
// all memory.
type endlessReader struct {
	prefix, pattern []byte
	off             int
	n               int64
	limit           int64
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.limit > 0 {
		if r.n >= r.limit {
			return 0, io.EOF
		}
		p = p[:min(int64(len(p)), r.limit-r.n)]
	}
	n := copy(p, r.prefix)
	r.prefix = r.prefix[n:]
	if rest := p[n:]; len(r.pattern) == 1 && len(rest) > 0 {
		// One byte repeated: fill by doubling, not byte by byte.
		rest[0] = r.pattern[0]
		for i := 1; i < len(rest); i *= 2 {
			copy(rest[i:], rest[:i])
		}
		n = len(p)
	}
	for n < len(p) {
		c := copy(p[n:], r.pattern[r.off:])
		r.off = (r.off + c) % len(r.pattern)
		n += c
	}
	r.n += int64(n)
	return n, nil
}

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The scale mode's server runs in a process of its own, so that its memory
// and CPU are not the client's: the bench binary starts itself again with
// this variable set, and the two talk over the child's stdin and stdout,
// one line per command and one per reply.
const scaleServerEnv = "EVENTSOURCE_BENCH_SCALE_SERVER"

// tickPad fills every tick event up to 100 bytes on the wire (for
// sequence numbers of four digits and stream numbers of three).
const tickPad = "abcdefghijklmnopqrstuv"

// appendTick appends tick number seq of stream index to b, stamped with
// the send time t in Unix nanoseconds:
//
//	id: 1234
//	event: tick
//	data: {"n":1234,"s":567,"t":1764000000000000000,"p":"abcdefghijklmnopqrstuv"}
//
// streamCheck (check.go) takes it apart again.
func appendTick(b []byte, seq int64, index int, t int64) []byte {
	b = strconv.AppendInt(append(b, "id: "...), seq, 10)
	b = strconv.AppendInt(append(b, "\nevent: tick\ndata: {\"n\":"...), seq, 10)
	b = strconv.AppendInt(append(b, `,"s":`...), int64(index), 10)
	b = strconv.AppendInt(append(b, `,"t":`...), t, 10)
	return append(b, `,"p":"`+tickPad+"\"}\n\n"...)
}

// scaleServerMain is the server process: it serves the streams of one run
// at a time on a loopback port, over HTTP/1.1 or unencrypted HTTP/2 (h2c,
// with prior knowledge) as the client chooses, and runs the commands it
// reads from stdin:
//
//	open RUN N              the streams /s/RUN/0 … /s/RUN/N-1, each served to one GET
//	wait COUNT SECONDS      until COUNT streams are connected → ok CONNECTED H2 CONNS
//	send COUNT EVERY [BATCH]
//	                        COUNT events on every stream: at once (EVERY 0, one
//	                        flush at the end) or BATCH (1 if not given) at a
//	                        time, flushed together, one batch every EVERY (a
//	                        duration), the streams' sends spread evenly over
//	                        EVERY → ok NANOSECONDS WRITE-ERRORS
//	close                   end every stream of the run → ok EXTRA-REQUESTS
//
// Replies are "ok …" or "err why". It exits when stdin ends.
func scaleServerMain() int {
	soft, hard, limitErr := raiseOpenFiles()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: scale server:", err)
		return 1
	}
	ts := &tickServer{}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: ts, Protocols: &protocols, ConnState: ts.connState}
	go srv.Serve(ln)
	out := bufio.NewWriter(os.Stdout)
	note := "-"
	if limitErr != nil {
		note = strings.ReplaceAll(limitErr.Error(), " ", "_")
	}
	fmt.Fprintf(out, "ready %s %d %d %s\n", ln.Addr(), soft, hard, note)
	out.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		reply, err := ts.command(strings.Fields(in.Text()))
		if err != nil {
			reply = "err " + err.Error()
		} else {
			reply = strings.TrimSpace("ok " + reply)
		}
		fmt.Fprintln(out, reply)
		out.Flush()
	}
	srv.Close()
	return 0
}

// A tickServer serves the streams of the current run.
type tickServer struct {
	mu    sync.Mutex // guards run
	run   *tickRun
	conns atomic.Int64 // open connections
	extra atomic.Int64 // requests answered 204: a stream asked for again, or not of this run
}

// A tickRun is the streams of one run.
type tickRun struct {
	id        string
	streams   []*tickStream
	connected atomic.Int64
	h2        atomic.Int64 // of those, connected over HTTP/2
	closed    chan struct{}
}

// A tickStream is one stream: its handler runs the jobs it is sent.
type tickStream struct {
	index int
	taken atomic.Bool
	jobs  chan tickJob
	seq   int64 // the next event's number; only the handler touches it

	mu   sync.Mutex // guards gone, and the hand-over of a job
	gone bool       // the handler returned: jobs fail at once
}

// give hands the stream a job, or fails it at once when the handler is
// gone or never ran.
func (st *tickStream) give(job tickJob) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone || !st.taken.Load() {
		job.errors.Add(1)
		job.done.Done()
		return
	}
	st.jobs <- job // room for one, and the last one is done
}

// leave marks the handler gone and fails a job it did not take.
func (st *tickStream) leave() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.gone = true
	select {
	case job := <-st.jobs:
		job.errors.Add(1)
		job.done.Done()
	default:
	}
}

// A tickJob is one send command's share of one stream.
type tickJob struct {
	count  int
	every  time.Duration // between two batches
	batch  int           // events written together, then flushed
	start  time.Time     // the first event of this stream is due then
	done   *sync.WaitGroup
	errors *atomic.Int64
}

func (ts *tickServer) connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		ts.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		ts.conns.Add(-1)
	}
}

func (ts *tickServer) current() *tickRun {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.run
}

func (ts *tickServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	run := ts.current()
	id, k, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/s/"), "/")
	i, err := strconv.Atoi(k)
	if run == nil || id != run.id || err != nil || i < 0 || i >= len(run.streams) || run.streams[i].taken.Swap(true) {
		ts.extra.Add(1)
		w.WriteHeader(http.StatusNoContent) // an EventSource stops for good on 204
		return
	}
	st := run.streams[i]
	defer st.leave()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	run.connected.Add(1)
	if r.ProtoMajor == 2 {
		run.h2.Add(1)
	}
	var buf []byte
	for {
		select {
		case job := <-st.jobs:
			ok := st.send(w, rc, job, &buf)
			if !ok {
				job.errors.Add(1)
			}
			job.done.Done()
			if !ok {
				return
			}
		case <-r.Context().Done():
			return
		case <-run.closed:
			return
		}
	}
}

// send writes one job's events, and reports whether every write and flush
// succeeded.
func (st *tickStream) send(w io.Writer, rc *http.ResponseController, job tickJob, buf *[]byte) bool {
	for j := range job.count {
		if job.every > 0 && j%job.batch == 0 {
			time.Sleep(time.Until(job.start.Add(time.Duration(j/job.batch) * job.every)))
		}
		*buf = appendTick((*buf)[:0], st.seq, st.index, time.Now().UnixNano())
		st.seq++
		if _, err := w.Write(*buf); err != nil {
			return false
		}
		if (job.every > 0 && (j+1)%job.batch == 0) || j == job.count-1 {
			if rc.Flush() != nil {
				return false
			}
		}
	}
	return true
}

// command runs one command line and returns the reply after "ok".
func (ts *tickServer) command(f []string) (string, error) {
	arg := func(i int) (int, error) {
		if i >= len(f) {
			return 0, fmt.Errorf("%s: too few arguments", f[0])
		}
		return strconv.Atoi(f[i])
	}
	if len(f) == 0 {
		return "", errors.New("empty command")
	}
	switch f[0] {
	case "open":
		n, err := arg(2)
		if err != nil {
			return "", err
		}
		run := &tickRun{id: f[1], streams: make([]*tickStream, n), closed: make(chan struct{})}
		for i := range run.streams {
			run.streams[i] = &tickStream{index: i, jobs: make(chan tickJob, 1)}
		}
		ts.mu.Lock()
		ts.run = run
		ts.mu.Unlock()
		ts.extra.Store(0)
		return "", nil
	case "wait":
		count, err := arg(1)
		if err != nil {
			return "", err
		}
		secs, err := arg(2)
		if err != nil {
			return "", err
		}
		run := ts.current()
		if run == nil {
			return "", errors.New("no run")
		}
		deadline := time.Now().Add(time.Duration(secs) * time.Second)
		for run.connected.Load() < int64(count) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if c := run.connected.Load(); c < int64(count) {
			return "", fmt.Errorf("only %d of %d streams connected after %d s", c, count, secs)
		}
		return fmt.Sprintf("%d %d %d", run.connected.Load(), run.h2.Load(), ts.conns.Load()), nil
	case "send":
		count, err := arg(1)
		if err != nil {
			return "", err
		}
		if len(f) < 3 {
			return "", errors.New("send: too few arguments")
		}
		every, err := time.ParseDuration(f[2])
		if err != nil {
			return "", err
		}
		batch := 1
		if len(f) > 3 {
			if batch, err = arg(3); err != nil || batch < 1 {
				return "", fmt.Errorf("send: bad batch %q", f[3])
			}
		}
		run := ts.current()
		if run == nil {
			return "", errors.New("no run")
		}
		return run.send(count, every, batch), nil
	case "close":
		ts.mu.Lock()
		if ts.run != nil {
			close(ts.run.closed)
			ts.run = nil
		}
		ts.mu.Unlock()
		return strconv.FormatInt(ts.extra.Load(), 10), nil
	}
	return "", fmt.Errorf("unknown command %q", f[0])
}

// send hands every connected stream its job and waits until all are done.
func (run *tickRun) send(count int, every time.Duration, batch int) string {
	var done sync.WaitGroup
	var errs atomic.Int64
	start := time.Now().Add(10 * time.Millisecond)
	n := len(run.streams)
	for i, st := range run.streams {
		done.Add(1)
		offset := time.Duration(int64(every) * int64(i) / int64(n))
		st.give(tickJob{count: count, every: every, batch: batch, start: start.Add(offset), done: &done, errors: &errs})
	}
	done.Wait()
	return fmt.Sprintf("%d %d", time.Since(start).Nanoseconds(), errs.Load())
}

// A tickClient is the parent's end of the scale server: the child process
// and the pipes to it.
type tickClient struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	addr string
	// soft and hard are the server's open file limits, after it raised
	// the soft one; limitErr says why it could not, or is "".
	soft, hard uint64
	limitErr   string
}

// startTickServer starts the server process and waits until it listens.
func startTickServer() (*tickClient, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), scaleServerEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	tc := &tickClient{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if !tc.out.Scan() {
		tc.Close()
		return nil, fmt.Errorf("the server process did not start: %v", tc.out.Err())
	}
	f := strings.Fields(tc.out.Text())
	if len(f) != 5 || f[0] != "ready" {
		tc.Close()
		return nil, fmt.Errorf("the server process said %q", tc.out.Text())
	}
	tc.addr = f[1]
	tc.soft, _ = strconv.ParseUint(f[2], 10, 64)
	tc.hard, _ = strconv.ParseUint(f[3], 10, 64)
	if f[4] != "-" {
		tc.limitErr = strings.ReplaceAll(f[4], "_", " ")
	}
	return tc, nil
}

// do sends one command and returns the fields of its reply after "ok".
// Calls must not overlap.
func (tc *tickClient) do(format string, args ...any) ([]string, error) {
	line := fmt.Sprintf(format, args...)
	if _, err := fmt.Fprintln(tc.in, line); err != nil {
		return nil, fmt.Errorf("server: %s: %w", line, err)
	}
	if !tc.out.Scan() {
		return nil, fmt.Errorf("server: %s: no reply (%v)", line, tc.out.Err())
	}
	reply := tc.out.Text()
	if why, ok := strings.CutPrefix(reply, "err "); ok {
		return nil, fmt.Errorf("server: %s: %s", line, why)
	}
	f := strings.Fields(reply)
	if len(f) == 0 || f[0] != "ok" {
		return nil, fmt.Errorf("server: %s: reply %q", line, reply)
	}
	return f[1:], nil
}

// Close ends the server process.
func (tc *tickClient) Close() error {
	tc.in.Close()
	return tc.cmd.Wait()
}

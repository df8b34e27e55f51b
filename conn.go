// This file holds one connection attempt: opening it (request.go builds
// and sends its request), the checks of the response, and the reader of its
// body.

package eventsource

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
)

// An attempt is what one connection attempt tells the retry loop.
type attempt struct {
	ok       bool          // it counted as a success: it dispatched an event or stayed open successAfter
	retry    time.Duration // the reconnection time the stream asked for, when retrySet
	retrySet bool          // the stream sent a valid "retry:" field
	err      error         // why it ended
}

// connect makes one attempt and, when it opens, reads the stream until it
// ends.
//
// An idle stream's goroutine waits in a read below connect: the frames on
// that path are kept small (one deferred cleanup, the Decoder in the
// EventSource, the work of opening and ending in functions of their own),
// so that the runtime can shrink the goroutine's stack.
func (es *EventSource) connect(runCtx context.Context) attempt {
	// The attempt has a context of its own, which the idle timer,
	// Reconnect and Close cancel with their cause.
	ctx, cancel := context.WithCancelCause(runCtx)
	es.setAttempt(cancel)
	var resp *http.Response
	var idle timer
	defer func() {
		if resp != nil {
			resp.Body.Close()
		}
		if idle != nil {
			idle.Stop()
		}
		es.setAttempt(nil)
		cancel(nil)
	}()
	resp, idle, err := es.open(ctx, cancel)
	if err != nil {
		return attempt{err: err}
	}
	if runtime.GOOS == "js" {
		// Go's fetch-based transport does not end a body read when the
		// request's context ends; closing the body does. Elsewhere the
		// transport does, and a stream holds no callback for it.
		defer context.AfterFunc(ctx, func() { resp.Body.Close() })()
	}
	return es.read(runCtx.Done(), ctx, resp, idle)
}

// read runs OnOpen, then reads the stream of resp and dispatches its
// events until it ends. Callbacks stop on Close or when Run's context
// ends (runDone), not when the attempt's does: an idle timeout or a
// Reconnect during a callback lets the event finish.
func (es *EventSource) read(runDone <-chan struct{}, ctx context.Context, resp *http.Response, idle timer) (a attempt) {
	opened := es.cfg.now()
	es.setState(Open)
	if idle != nil {
		idle.Reset(es.cfg.idleTimeout)
	}
	if fn := es.handlers.Load().onOpen; fn != nil {
		fn()
		if es.stopped(runDone) {
			return attempt{err: context.Canceled}
		}
	}
	dec := es.decoder(resp, idle, runDone)
	defer dec.reset(nil, 0, "") // nothing of the connection stays held
	// A count, not the ID itself: a string kept in this frame would keep
	// alive, while the stream waits, the block of strings it lies in.
	var idChanges uint64
	attemptDone := ctx.Done()
	for {
		// dec.Next, with the Event built in place: Next's result is a
		// copy of it, which costs a stall (see Decoder.Next).
		var ev Event
		ev.Type, ev.Data, ev.ID = dec.next()
		err := dec.err
		a.retry, a.retrySet = dec.Retry()
		if dec.idChanges != idChanges {
			idChanges = dec.idChanges
			es.setLastEventID(dec.LastEventID())
		}
		if err != nil {
			a.ok = a.ok || es.cfg.now().Sub(opened) >= successAfter
			return ended(ctx, resp.Request, a, err)
		}
		a.ok = true
		es.stats.events.Add(1)
		if !es.dispatch(&ev, runDone) {
			a.err = context.Canceled
			return a
		}
		if isDone(attemptDone) {
			// Reconnect was called: the events still buffered are not
			// dispatched, and come again after the Last-Event-ID.
			return ended(ctx, resp.Request, a, ctx.Err())
		}
	}
}

// decoder readies the EventSource's Decoder for the body of resp; comments
// stop on Close or when Run's context ends (runDone). The
// Decoder lives in the EventSource, not on the stack of Run's goroutine,
// and is reused from one connection to the next.
func (es *EventSource) decoder(resp *http.Response, idle timer, runDone <-chan struct{}) *Decoder {
	var r io.Reader = &bodyReader{r: resp.Body, stats: &es.stats, idle: idle, d: es.cfg.idleTimeout}
	if isGzip(resp) {
		r = &gzipReader{r: r}
	}
	if es.dec == nil {
		es.dec = new(Decoder)
	}
	es.dec.reset(r, es.cfg.maxEventSize, es.LastEventID())
	es.dec.idMoved = es.setLastEventID
	es.dec.comment = func(line []byte) {
		if fn := es.handlers.Load().onComment; fn != nil && !es.stopped(runDone) {
			fn(validString(line))
		}
	}
	return es.dec
}

// ended returns a, the attempt of req, ended by err: a clean end of stream
// when err is io.EOF.
func ended(ctx context.Context, req *http.Request, a attempt, err error) attempt {
	if err == io.EOF {
		err = errStreamEnded
	}
	if errors.As(context.Cause(ctx), new(*reconnectError)) {
		// Reconnect: something went wrong, says user code. The connection
		// is not a success, so that a server that sends a bad event every
		// time meets the backoff and WithMaxRetries.
		a.ok = false
	}
	a.err = requestFailed(req, connError(ctx, err))
	return a
}

// open sends the request of one attempt, and returns its response once it
// is a stream, with the idle timer started when there is an idle timeout.
// It is apart from connect so that its stack frame is gone while the stream
// is read, and it sends the request from another goroutine (send): an idle
// stream's goroutine holds as little stack as it can.
func (es *EventSource) open(ctx context.Context, cancel context.CancelCauseFunc) (*http.Response, timer, error) {
	req, err := es.newRequest(ctx)
	if err != nil {
		if req == nil {
			// New parsed the URL already: it parses again.
			u, _ := url.Parse(es.url)
			return nil, nil, &requestError{method: es.cfg.method, url: redactURL(u), err: err}
		}
		return nil, nil, requestFailed(req, err)
	}
	var idle timer
	if es.cfg.idleTimeout > 0 {
		idle = es.cfg.afterFunc(es.cfg.idleTimeout, func() { cancel(ErrIdleTimeout) })
	}
	es.stats.connections.Add(1)
	if es.cfg.logger != nil {
		es.log(ctx, slog.LevelDebug, "connecting", "method", req.Method, "url", redactURL(req.URL), "last_event_id_set", req.Header.Get("Last-Event-ID") != "")
	}
	resp, err := send(es.client, req)
	if err != nil {
		return nil, idle, requestFailed(req, connError(ctx, err))
	}
	if hook := es.cfg.responseHook; hook != nil {
		if err := hook(resp); err != nil {
			resp.Body.Close()
			return nil, idle, requestFailed(resp.Request, err)
		}
	}
	if err := es.checkResponse(ctx, resp); err != nil {
		resp.Body.Close()
		return nil, idle, requestFailed(resp.Request, err)
	}
	if es.cfg.logger != nil {
		es.log(ctx, slog.LevelInfo, "connected", "url", redactURL(resp.Request.URL), "proto", resp.Proto)
	}
	return resp, idle, nil
}

// checkResponse turns a response that is not a stream into its error.
func (es *EventSource) checkResponse(ctx context.Context, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
		if enc := strings.TrimSpace(resp.Header.Get("Content-Encoding")); enc != "" && !resp.Uncompressed &&
			!strings.EqualFold(enc, "gzip") && !strings.EqualFold(enc, "identity") {
			return fmt.Errorf("%w: Content-Encoding %q, which the client cannot decode", ErrContentType, validString([]byte(enc[:min(len(enc), 64)])))
		}
		ct := resp.Header.Get("Content-Type")
		mediaType, _, _ := strings.Cut(ct, ";")
		if mediaType = strings.TrimSpace(mediaType); !strings.EqualFold(mediaType, "text/event-stream") {
			if len(mediaType) > 64 {
				mediaType = mediaType[:64]
			}
			return fmt.Errorf("%w: got %q", ErrContentType, validString([]byte(mediaType)))
		}
		return nil
	case http.StatusNoContent:
		return ErrNoContent
	}
	err := &StatusError{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		RetryAfter: retryAfter(resp.Header, es.cfg.now()),
	}
	// After a 1xx final response (101 Switching Protocols) the body is the
	// raw connection, which no context cancels: it is not read.
	if resp.StatusCode >= 200 {
		err.Body = es.readSnippet(ctx, resp.Body)
	}
	return err
}

// requestFailed wraps err with the request it ended, once: the request as
// the hooks and redirects made it, or the one of the options when there is
// none yet.
func requestFailed(req *http.Request, err error) error {
	return &requestError{method: req.Method, url: redactURL(req.URL), err: err}
}

// connError returns why a request or a read on ctx failed: the idle timeout
// or a Reconnect when either cancelled ctx, else err without net/http's
// *url.Error, whose text repeats the URL.
func connError(ctx context.Context, err error) error {
	var reconnect *reconnectError
	if cause := context.Cause(ctx); errors.Is(cause, ErrIdleTimeout) || errors.As(cause, &reconnect) {
		return cause
	}
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL returns u without its user info, query and fragment.
func redactURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	return v.String()
}

// readSnippet reads the first KiB of an error response's body, cut at a
// UTF-8 boundary, for an error message. The read ends when ctx does (Close,
// the caller's context, the idle timeout), and after errorBodyTimeout in any
// case: it closes the body, which unblocks a Read in flight.
func (es *EventSource) readSnippet(ctx context.Context, body io.ReadCloser) string {
	ctx, cancel := context.WithTimeout(ctx, es.cfg.errorBodyTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { body.Close() })
	defer stop()
	buf := make([]byte, 1024)
	n, _ := io.ReadFull(body, buf)
	buf = buf[:n]
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				buf = buf[:i]
			}
			break
		}
	}
	return validString(buf)
}

// bodyReader counts the bytes of a response body, and resets the idle
// timer, if any, on every read that returns some.
type bodyReader struct {
	r     io.Reader
	stats *stats
	idle  timer
	d     time.Duration
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.stats.bytes.Add(int64(n))
		if r.idle != nil {
			r.idle.Reset(r.d)
		}
	}
	return n, err
}

// isGzip reports whether resp's body is gzip that net/http left compressed:
// it decompresses only what it asked for itself, and not when user code set
// Accept-Encoding or the transport has DisableCompression.
func isGzip(resp *http.Response) bool {
	return !resp.Uncompressed && strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip")
}

// gzipReader decompresses a gzip body. It starts at the first Read, so that
// the gzip header is read as the stream's first bytes, not before OnOpen;
// each event comes out as soon as the server flushed it. The size limit of
// the Decoder above it counts decompressed bytes.
type gzipReader struct {
	r  io.Reader
	zr *gzip.Reader
}

func (g *gzipReader) Read(p []byte) (int, error) {
	if g.zr == nil {
		zr, err := gzip.NewReader(g.r)
		if err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		g.zr = zr
	}
	return g.zr.Read(p)
}

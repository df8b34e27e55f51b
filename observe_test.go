package eventsource_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
)

// TestEventsIterator proves the range-over-func view: the events of every
// connection once, in order, after the callbacks; break closes the stream.
func TestEventsIterator(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		startStream(w)
		if k == 1 {
			send(w, "id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: cut")
			return
		}
		send(w, "id: 3\ndata: c\n\nid: 4\ndata: d\n\n")
		<-r.Context().Done() // only the client's close ends this one
	})
	es := newES(t, srv, autoClock())
	var order []string
	es.OnEvent(func(ev eventsource.Event) { order = append(order, "callback "+ev.Data) })
	for ev, err := range es.Events(context.Background()) {
		require.NoError(t, err)
		order = append(order, "loop "+ev.Data)
		if ev.ID == "4" {
			break
		}
	}
	assert.Equal(t, []string{
		"callback a", "loop a", "callback b", "loop b",
		"callback c", "loop c", "callback d", "loop d",
	}, order)
	assert.Equal(t, eventsource.Closed, es.ReadyState(), "break closed the EventSource")
	assert.Equal(t, "4", es.LastEventID())
}

// TestEventsIteratorFinalError proves that the error ending the stream is
// yielded once, last, and that retried failures are not.
func TestEventsIteratorFinalError(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			startStream(w)
			send(w, "data: only\n\n")
			return
		}
		http.Error(w, "gone", http.StatusGone)
	})
	es := newES(t, srv, autoClock())
	var retried []error
	es.OnError(func(err error) { retried = append(retried, err) })
	var data []string
	var errs []error
	for ev, err := range es.Events(context.Background()) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data = append(data, ev.Data)
	}
	assert.Equal(t, []string{"only"}, data)
	require.Len(t, errs, 1)
	var status *eventsource.StatusError
	require.ErrorAs(t, errs[0], &status)
	assert.Equal(t, http.StatusGone, status.StatusCode)
	require.Len(t, retried, 2, "OnError saw the end of stream and the 410")
	assert.ErrorIs(t, retried[0], io.EOF)
}

// TestEventsIteratorContext proves that the loop ends without an error when
// its context ends.
func TestEventsIteratorContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, "data: x\n\n")
		<-r.Context().Done()
	})
	es := newES(t, srv, autoClock())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := 0
	for _, err := range es.Events(ctx) {
		require.NoError(t, err)
		got++
		cancel()
	}
	assert.Equal(t, 1, got)
	for _, err := range es.Events(context.Background()) {
		assert.Error(t, err, "a second use yields the error of a second Run")
	}
}

// TestStats proves the counters that a metrics exporter polls.
func TestStats(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	body := "data: a\n\ndata: b\n\n"
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			startStream(w)
			send(w, body)
		case 2:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			startStream(w)
			send(w, "data: c\n\n")
			<-r.Context().Done()
		}
	})
	jitter := eventsource.WithJitter(func(time.Duration) time.Duration { return 0 })
	es := newES(t, srv, autoClock(), jitter, eventsource.WithRetry(time.Second))
	assert.Equal(t, eventsource.Stats{}, es.Stats())
	var delays []time.Duration
	es.OnError(func(error) { delays = append(delays, es.Stats().RetryDelay) })
	es.OnMessage(func(ev eventsource.Event) {
		if ev.Data == "c" {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))

	st := es.Stats()
	assert.Equal(t, int64(3), st.Connections)
	assert.Equal(t, int64(2), st.Reconnections)
	assert.Equal(t, int64(3), st.Events)
	assert.Equal(t, int64(len(body)+len("data: c\n\n")), st.Bytes)
	var status *eventsource.StatusError
	require.ErrorAs(t, st.LastError, &status)
	assert.Equal(t, http.StatusServiceUnavailable, status.StatusCode)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, delays, "RetryDelay during OnError")
}

// TestLogger proves that WithLogger records the life of the stream, and
// never a header value, a body or the URL's secrets.
func TestLogger(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			startStream(w)
			send(w, "data: secret-event\n\n")
			return
		}
		http.Error(w, "secret-body", http.StatusForbidden)
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	es, err := eventsource.New(srv.URL+"/feed?token=secret-query",
		eventsource.WithHTTPClient(srv.Client()), autoClock(), eventsource.WithLogger(logger),
		eventsource.WithHeader("Authorization", "Bearer secret-header"))
	require.NoError(t, err)
	var status *eventsource.StatusError
	require.ErrorAs(t, recv(t, run(t, es)), &status)

	out := logs.String()
	for _, msg := range []string{"msg=connecting", "msg=connected", "msg=reconnecting", `msg="stream ended for good"`} {
		assert.Contains(t, out, msg)
	}
	assert.NotContains(t, out, "secret")
}

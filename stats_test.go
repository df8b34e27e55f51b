package eventsource_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
)

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

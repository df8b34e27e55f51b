package eventsource_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-eventsource/eventsource"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSmokeReconnectResumes(t *testing.T) {
	t.Parallel()
	var got []string
	lastIDs := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastIDs <- r.Header.Get("Last-Event-ID")
		w.Header().Set("Content-Type", "text/event-stream")
		if r.Header.Get("Last-Event-ID") == "" {
			fmt.Fprint(w, "id: 1\ndata: one\n\nid: 2\ndata: two\n\ndata: cut")
			return
		}
		fmt.Fprint(w, "id: 3\ndata: three\n\n")
	}))
	t.Cleanup(srv.Close)
	es, err := eventsource.New(srv.URL, eventsource.WithClock(eventsource.NewFakeClock(true)))
	require.NoError(t, err)
	es.OnMessage(func(ev eventsource.Event) {
		got = append(got, ev.ID+"="+ev.Data)
		if ev.ID == "3" {
			es.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, es.Run(ctx))
	assert.Equal(t, []string{"1=one", "2=two", "3=three"}, got)
	assert.Equal(t, "", <-lastIDs)
	assert.Equal(t, "2", <-lastIDs)
	assert.Equal(t, eventsource.Closed, es.ReadyState())
}

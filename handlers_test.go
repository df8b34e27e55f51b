package eventsource_test

import (
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

func TestCallbackOrder(t *testing.T) {
	t.Parallel()
	srv := newServer(t,
		est.Script{est.Raw("data: m1\n\nevent: a\ndata: a1\n\nevent: b\ndata: b1\n\n")},
		est.Script{est.Data("m2"), est.Stall()},
	)
	es := newES(t, srv, fastRetry())
	var log []string
	var inCallback atomic.Bool
	// callback records one call, and checks that it runs alone, on Run's
	// goroutine.
	callback := func(entry string) {
		if !inCallback.CompareAndSwap(false, true) {
			t.Errorf("%s: another callback is running", entry)
		}
		defer inCallback.Store(false)
		assert.True(t, onRunGoroutine(), "%s: not on Run's goroutine", entry)
		log = append(log, entry)
	}
	event := func(name string) func(eventsource.Event) {
		return func(ev eventsource.Event) {
			assert.Equal(t, eventsource.Open, es.ReadyState(), name)
			callback(name + ":" + ev.Data)
		}
	}
	es.OnOpen(func() {
		assert.Equal(t, eventsource.Open, es.ReadyState(), "OnOpen")
		callback("open")
	})
	es.OnEvent(event("event"))
	es.OnMessage(event("message"))
	es.OnError(func(err error) {
		assert.ErrorIs(t, err, io.EOF)
		callback("error:" + es.ReadyState().String())
	})
	es.AddEventListener("a", event("a-first"))
	es.AddEventListener("message", func(ev eventsource.Event) {
		event("m-listener")(ev)
		if ev.Data == "m2" {
			es.Close()
		}
	})
	es.AddEventListener("a", event("a-second"))
	es.AddEventListener("b", event("b"))

	assert.Equal(t, eventsource.Connecting, es.ReadyState())
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, eventsource.Closed, es.ReadyState())
	assert.Equal(t, []string{
		"open",
		"event:m1", "message:m1", "m-listener:m1",
		"event:a1", "a-first:a1", "a-second:a1",
		"event:b1", "b:b1",
		"error:Connecting",
		"open",
		"event:m2", "message:m2", "m-listener:m2",
	}, log)
}

func TestHandlersChangeWhileRunning(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	i := 0 // the last event sent; the one request's script alone uses it
	srv := newServer(t, est.Script{est.Repeat(-1, est.Func(func(est.Request) est.Script {
		select {
		case <-stop:
			return est.Script{est.Send(est.Event{Type: "last", Data: "end"}), est.Stall()}
		default:
			i++
			return est.Script{est.Send(est.Event{ID: strconv.Itoa(i), Data: strconv.Itoa(i)})}
		}
	}))})
	es := newES(t, srv)
	var got []string // written by Run's goroutine only
	first := make(chan struct{})
	es.AddEventListener("message", func(ev eventsource.Event) {
		if got = append(got, ev.Data); len(got) == 1 {
			close(first)
		}
	})
	es.AddEventListener("last", func(eventsource.Event) { es.Close() })
	done := run(t, es)

	recv(t, first)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 300 {
				remove := es.AddEventListener("message", func(eventsource.Event) {})
				other := es.AddEventListener("other", func(eventsource.Event) {})
				es.OnOpen(func() {})
				es.OnEvent(func(eventsource.Event) {})
				es.OnMessage(func(eventsource.Event) {})
				es.OnComment(func(string) {})
				es.OnError(func(error) {})
				remove()
				other()
				remove()
				es.OnEvent(nil)
				es.OnMessage(nil)
			}
		})
	}
	wg.Wait()
	close(stop)
	require.NoError(t, recv(t, done))

	require.NotEmpty(t, got)
	for i, data := range got {
		require.Equal(t, strconv.Itoa(i+1), data, "events must arrive once each, in order")
	}
}

func TestListenersChangedFromInsideCallbacks(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Raw("data: 1\n\ndata: 2\n\ndata: 3\n\n"), est.Stall()})
	es := newES(t, srv)
	var self, all, added, firstOnMessage, secondOnMessage []string
	var remove func()
	remove = es.AddEventListener("message", func(ev eventsource.Event) {
		self = append(self, ev.Data)
		remove()
		remove() // idempotent
	})
	es.AddEventListener("message", func(ev eventsource.Event) {
		all = append(all, ev.Data)
		switch ev.Data {
		case "1":
			es.AddEventListener("message", func(ev eventsource.Event) { added = append(added, ev.Data) })
		case "3":
			es.Close()
		}
	})
	es.OnMessage(func(ev eventsource.Event) {
		firstOnMessage = append(firstOnMessage, ev.Data)
		es.OnMessage(func(ev eventsource.Event) { secondOnMessage = append(secondOnMessage, ev.Data) })
	})
	require.NoError(t, recv(t, run(t, es)))
	remove() // after Run, still harmless

	assert.Equal(t, []string{"1"}, self)
	assert.Equal(t, []string{"1", "2", "3"}, all)
	assert.Equal(t, []string{"2"}, added, "a listener added during event 1 gets the later events (Close came before its turn on 3)")
	assert.Equal(t, []string{"1"}, firstOnMessage)
	assert.Equal(t, []string{"2", "3"}, secondOnMessage)
}

// TestRemovedListenerNotCalled: once remove returns, on another goroutine,
// the listener is not called again, not even for an event whose dispatch
// had already begun: OnEvent, which runs first for each event, tells which
// event was being dispatched when remove returned.
func TestRemovedListenerNotCalled(t *testing.T) {
	t.Parallel()
	const listeners, events = 32, 20000
	srv := newServer(t, est.Script{est.AutoFlush(false), est.Repeat(events, est.Data("x")), est.Flush(), est.Stall()})
	es := newES(t, srv)
	var dispatching atomic.Int64 // the number of the event being dispatched
	es.OnEvent(func(eventsource.Event) {
		if dispatching.Add(1) == events {
			es.Close()
		}
	})
	last := make([]int64, listeners) // the last event each listener got; written on Run's goroutine
	removes := make([]func(), listeners)
	for i := range listeners {
		removes[i] = es.AddEventListener("message", func(eventsource.Event) { last[i] = dispatching.Load() })
	}
	removedAt := make([]int64, listeners) // the event under way when remove returned
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range listeners {
			for dispatching.Load() < int64(i+1)*events/(listeners+1) {
				runtime.Gosched()
			}
			removes[i]()
			removedAt[i] = dispatching.Load()
		}
	})
	require.NoError(t, recv(t, run(t, es)))
	wg.Wait()
	for i := range listeners {
		assert.LessOrEqual(t, last[i], removedAt[i], "listener %d called after remove returned", i)
	}
}

// TestCloseFromCallback checks that a callback that calls Close is the last
// callback to run.
func TestCloseFromCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		closer string
		want   []string
	}{
		{"open", []string{"open"}},
		{"comment", []string{"open", "comment:c1"}},
		{"event", []string{"open", "comment:c1", "comment:c2", "event:1"}},
		{"message", []string{"open", "comment:c1", "comment:c2", "event:1", "message:1"}},
		{"listener", []string{"open", "comment:c1", "comment:c2", "event:1", "message:1", "listener:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.closer, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Raw(": c1\n: c2\n\ndata: 1\n\ndata: 2\n\n"), est.Stall()})
			es := newES(t, srv)
			var log []string
			callback := func(name, arg string) {
				if arg != "" {
					log = append(log, name+":"+arg)
				} else {
					log = append(log, name)
				}
				if name == tc.closer {
					es.Close()
					assert.Equal(t, eventsource.Closed, es.ReadyState())
				}
			}
			es.OnOpen(func() { callback("open", "") })
			es.OnComment(func(c string) { callback("comment", c) })
			es.OnEvent(func(ev eventsource.Event) { callback("event", ev.Data) })
			es.OnMessage(func(ev eventsource.Event) { callback("message", ev.Data) })
			es.AddEventListener("message", func(ev eventsource.Event) { callback("listener", ev.Data) })
			es.OnError(func(err error) { callback("error", err.Error()) })
			require.NoError(t, recv(t, run(t, es)))
			assert.Equal(t, tc.want, log)
		})
	}
}

func TestOnComment(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Raw(": heartbeat\n\n:no-space\n:  two spaces\n:\n\ndata: x\n\n"), est.Stall()})
	es := newES(t, srv)
	var comments []string
	es.OnComment(func(c string) { comments = append(comments, c) })
	es.OnMessage(func(eventsource.Event) { es.Close() })
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, []string{"heartbeat", "no-space", " two spaces", ""}, comments)
}

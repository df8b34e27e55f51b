package eventsource_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

// TestRedirects follows 301, 302, 307 and 308 to the same origin, to
// another port and to another host: custom headers, Authorization and Cookie
// included, go only to the same origin; Accept, Cache-Control and
// Last-Event-ID always go.
func TestRedirects(t *testing.T) {
	t.Parallel()
	custom := map[string]string{"Authorization": "Bearer s3cr3t", "Cookie": "session=s3cr3t", "X-Custom": "custom"}
	for _, code := range []int{301, 302, 307, 308} {
		for _, target := range []string{"same origin", "another port", "another host"} {
			t.Run(fmt.Sprintf("%d/%s", code, target), func(t *testing.T) {
				t.Parallel()
				var dest *est.Server // the server that answers the redirected request
				src := faultServer(t,
					est.Script{est.Func(func(req est.Request) est.Script {
						loc := "/moved"
						switch target {
						case "another port":
							loc = dest.URL + "/moved"
						case "another host":
							// Same listener, another name: anyHost dials it.
							loc = "http://stream.example:" + portOf(dest.URL) + "/moved"
						}
						return est.Script{est.Status(code, "Location", loc)}
					})},
					est.Script{est.Data("moved"), est.Stall()},
				)
				dest = src
				if target == "another port" {
					dest = faultServer(t, est.Script{est.Data("moved"), est.Stall()})
				}
				opts := []eventsource.Option{eventsource.WithLastEventID("7"), eventsource.WithHTTPClient(anyHost(t, src))}
				for k, v := range custom {
					opts = append(opts, eventsource.WithHeader(k, v))
				}
				es, err := eventsource.New(src.URL+"/start", opts...)
				require.NoError(t, err)
				tp := listen(es)
				tp.stopAt = 1
				require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
				assert.Equal(t, []eventsource.Event{{Type: "message", Data: "moved", ID: "7"}}, tp.events)
				assert.Empty(t, tp.errs)

				first := src.Requests()[0]
				reqs := dest.Requests()
				last := reqs[len(reqs)-1]
				assert.Equal(t, "/moved", last.URL)
				for k, v := range custom {
					assert.Equal(t, v, first.Header.Get(k), "first request, %s", k)
					if target == "same origin" {
						assert.Equal(t, v, last.Header.Get(k), "after the redirect, %s", k)
					} else {
						assert.Empty(t, last.Header.Values(k), "after the redirect, %s", k)
					}
				}
				assert.Equal(t, "text/event-stream", last.Header.Get("Accept"))
				assert.Equal(t, "no-cache", last.Header.Get("Cache-Control"))
				assert.Equal(t, "7", last.LastEventID)
			})
		}
	}
	for _, code := range []int{307, 308} {
		t.Run(fmt.Sprintf("%d keeps POST and its body", code), func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t,
				est.Script{est.Status(code, "Location", "/moved")},
				est.Script{est.Data("moved"), est.Stall()},
			)
			es := faultES(t, srv, eventsource.WithMethod(http.MethodPost), eventsource.WithBody([]byte(`{"q":1}`)))
			tp := listen(es)
			tp.stopAt = 1
			require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			for _, req := range reqs {
				assert.Equal(t, http.MethodPost, req.Method)
				assert.Equal(t, `{"q":1}`, req.Body)
			}
		})
	}
}

func TestRedirectHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path       string
		keepCustom bool
	}{
		{"/same", true},
		{"/cross", false},
		{"/bounce", false}, // back at the first origin: not restored
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			a, _, streams := redirectServers(t)
			es, err := eventsource.New(a.URL+tc.path,
				eventsource.WithHTTPClient(a.Client()),
				eventsource.WithLastEventID("7"),
				eventsource.WithHeader("X-Custom", "custom"),
				eventsource.WithHeader("Authorization", "Bearer token"),
				eventsource.WithHeader("Cookie", "session=1"),
				eventsource.WithRequestHook(func(req *http.Request) error {
					req.Header.Set("X-Hook", "hook")
					return nil
				}),
			)
			require.NoError(t, err)
			es.OnMessage(func(eventsource.Event) { es.Close() })
			require.NoError(t, recv(t, run(t, es)))

			h := recv(t, streams)
			assert.Equal(t, "text/event-stream", h.Get("Accept"))
			assert.Equal(t, "no-cache", h.Get("Cache-Control"))
			assert.Equal(t, "7", h.Get("Last-Event-ID"))
			custom := map[string]string{"X-Custom": "custom", "Authorization": "Bearer token", "Cookie": "session=1", "X-Hook": "hook"}
			for key, value := range custom {
				if tc.keepCustom {
					assert.Equal(t, value, h.Get(key), key)
				} else {
					assert.Empty(t, h.Values(key), key)
				}
			}
		})
	}
}

// redirectServers starts two servers on different ports (two origins) that
// redirect between them and stream from /stream, sending the headers each
// /stream request carried on the returned channel.
//
//	/same    -> /stream on the same server
//	/cross   -> b's /stream (a only)
//	/bounce  -> b's /bounce -> a's /stream (a only)
//	/loop    -> /loop
func redirectServers(t *testing.T) (a, b *httptest.Server, streams <-chan http.Header) {
	t.Helper()
	seen := make(chan http.Header, 10)
	common := func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			seen <- r.Header.Clone()
			startStream(w)
			send(w, "data: ok\n\n")
			<-r.Context().Done()
		case "/same":
			http.Redirect(w, r, "/stream", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}
	b = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bounce" {
			http.Redirect(w, r, "http://"+r.URL.Query().Get("back")+"/stream", http.StatusTemporaryRedirect)
			return
		}
		common(w, r)
	})
	a = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cross":
			http.Redirect(w, r, b.URL+"/stream", http.StatusFound)
		case "/bounce":
			http.Redirect(w, r, b.URL+"/bounce?back="+r.Host, http.StatusFound)
		default:
			common(w, r)
		}
	})
	return a, b, seen
}

// anyHost returns a client that connects to srv for the host
// stream.example, so that a redirect can go to another host over loopback.
// Its connections close at the end of the test.
func anyHost(t *testing.T, srv *est.Server) *http.Client {
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); host == "stream.example" {
			addr = srv.Listener.Addr().String()
		}
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// portOf returns the port of a URL such as http://127.0.0.1:1234.
func portOf(u string) string { return u[strings.LastIndexByte(u, ':')+1:] }

// TestRedirectLoopEnds: a redirect loop, on one server or between two, ends
// the stream with ErrTooManyRedirects after 10 hops, without a retry.
func TestRedirectLoopEnds(t *testing.T) {
	t.Parallel()
	for _, code := range []int{302, 307, 308} {
		t.Run(strconv.Itoa(code)+"/self", func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t, est.Script{est.Status(code, "Location", "/loop")})
			es := faultES(t, srv, fastRetry())
			tp := listen(es)
			require.ErrorIs(t, recv(t, runCtx(t, context.Background(), es)), eventsource.ErrTooManyRedirects)
			assert.Len(t, srv.Requests(), 10)
			require.Len(t, tp.errs, 1)
			require.ErrorIs(t, tp.errs[0], eventsource.ErrTooManyRedirects)
			assert.Equal(t, []eventsource.ReadyState{eventsource.Closed}, tp.states)
		})
		t.Run(strconv.Itoa(code)+"/two servers", func(t *testing.T) {
			t.Parallel()
			var a, b *est.Server
			a = faultServer(t, est.Script{est.Func(func(est.Request) est.Script {
				return est.Script{est.Status(code, "Location", b.URL+"/b")}
			})})
			b = faultServer(t, est.Script{est.Func(func(est.Request) est.Script {
				return est.Script{est.Status(code, "Location", a.URL+"/a")}
			})})
			es := faultES(t, a, fastRetry(), eventsource.WithHeader("Authorization", "Bearer s3cr3t"))
			tp := listen(es)
			require.ErrorIs(t, recv(t, runCtx(t, context.Background(), es)), eventsource.ErrTooManyRedirects)
			assert.Equal(t, 10, len(a.Requests())+len(b.Requests()))
			for i, req := range append(a.Requests()[1:], b.Requests()...) {
				assert.Empty(t, req.Header.Values("Authorization"), "hop %d: never restored", i)
			}
			assert.Len(t, tp.errs, 1)
		})
	}
}

func TestRedirectLoop(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	es, err := eventsource.New(srv.URL+"/loop", eventsource.WithHTTPClient(srv.Client()), autoClock())
	require.NoError(t, err)
	var errs []error
	es.OnError(func(err error) {
		assert.Equal(t, eventsource.Closed, es.ReadyState())
		errs = append(errs, err)
	})
	require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrTooManyRedirects)
	assert.Len(t, errs, 1)
	assert.Equal(t, int32(10), requests.Load(), "10 hops, and no retry")
}

func TestRedirectLeavesCallerClientAlone(t *testing.T) {
	t.Parallel()
	t.Run("no CheckRedirect", func(t *testing.T) {
		t.Parallel()
		a, _, streams := redirectServers(t)
		client := &http.Client{Transport: a.Client().Transport}
		es, err := eventsource.New(a.URL+"/cross", eventsource.WithHTTPClient(client))
		require.NoError(t, err)
		es.OnMessage(func(eventsource.Event) { es.Close() })
		require.NoError(t, recv(t, run(t, es)))
		recv(t, streams)
		assert.Nil(t, client.CheckRedirect)
	})
	t.Run("own CheckRedirect", func(t *testing.T) {
		t.Parallel()
		a, _, streams := redirectServers(t)
		var calls atomic.Int32
		own := func(req *http.Request, via []*http.Request) error {
			calls.Add(1)
			assert.Empty(t, req.Header.Values("X-Custom"), "ours ran first and dropped the custom header")
			return nil
		}
		client := &http.Client{Transport: a.Client().Transport, CheckRedirect: own}
		es, err := eventsource.New(a.URL+"/cross", eventsource.WithHTTPClient(client),
			eventsource.WithHeader("X-Custom", "custom"))
		require.NoError(t, err)
		es.OnMessage(func(eventsource.Event) { es.Close() })
		require.NoError(t, recv(t, run(t, es)))
		recv(t, streams)
		assert.Equal(t, int32(1), calls.Load(), "the caller's CheckRedirect still runs")
		assert.Equal(t, reflect.ValueOf(own).Pointer(), reflect.ValueOf(client.CheckRedirect).Pointer())
	})
}

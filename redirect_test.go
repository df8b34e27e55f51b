package eventsource_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// TestRedirects follows 301, 302, 307 and 308 to the same origin, to
// another port, to another host, and to another port that redirects back to
// the first origin: the caller's headers (Authorization, Cookie and another
// of WithHeader, and one that the request hook sets) go only to the same
// origin, and once dropped they are not restored; Accept, Cache-Control and
// Last-Event-ID always go. 307 and 308 keep a POST and its body.
func TestRedirects(t *testing.T) {
	t.Parallel()
	headers := map[string]string{"Authorization": "Bearer s3cr3t", "Cookie": "session=s3cr3t", "X-Custom": "custom"}
	custom := maps.Clone(headers)
	custom["X-Hook"] = "hook"
	for _, code := range []int{301, 302, 307, 308} {
		for _, target := range []string{"same origin", "another port", "another host", "another port and back"} {
			t.Run(fmt.Sprintf("%d/%s", code, target), func(t *testing.T) {
				t.Parallel()
				var dest *est.Server // the server that answers the redirected request
				var hop *est.Server  // the other port that redirects back
				src := newServer(t,
					est.Script{est.Func(func(req est.Request) est.Script {
						loc := "/moved"
						switch target {
						case "another port":
							loc = dest.URL + "/moved"
						case "another host":
							// Same listener, another name: anyHost dials it.
							loc = "http://stream.example:" + portOf(dest.URL) + "/moved"
						case "another port and back":
							loc = hop.URL + "/back"
						}
						return est.Script{est.Status(code, "Location", loc)}
					})},
					est.Script{est.Data("moved"), est.Stall()},
				)
				dest = src
				switch target {
				case "another port":
					dest = newServer(t, est.Script{est.Data("moved"), est.Stall()})
				case "another port and back":
					hop = newServer(t, est.Script{est.Status(code, "Location", src.URL+"/moved")})
				}
				opts := []eventsource.Option{eventsource.WithLastEventID("7"), eventsource.WithHTTPClient(anyHost(t, src)),
					eventsource.WithRequestHook(func(req *http.Request) error {
						req.Header.Set("X-Hook", custom["X-Hook"])
						return nil
					})}
				for k, v := range headers {
					opts = append(opts, eventsource.WithHeader(k, v))
				}
				es, err := eventsource.New(src.URL+"/start", opts...)
				require.NoError(t, err)
				tp := listen(es)
				tp.stopAt = 1
				require.NoError(t, recv(t, run(t, es)))
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
			srv := newServer(t,
				est.Script{est.Status(code, "Location", "/moved")},
				est.Script{est.Data("moved"), est.Stall()},
			)
			es := newES(t, srv, eventsource.WithMethod(http.MethodPost), eventsource.WithBody([]byte(`{"q":1}`)))
			tp := listen(es)
			tp.stopAt = 1
			require.NoError(t, recv(t, run(t, es)))
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			for _, req := range reqs {
				assert.Equal(t, http.MethodPost, req.Method)
				assert.Equal(t, `{"q":1}`, req.Body)
			}
		})
	}
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
// the stream with ErrTooManyRedirects after 10 hops, without a retry, and
// ReadyState is Closed during the one OnError.
func TestRedirectLoopEnds(t *testing.T) {
	t.Parallel()
	for _, code := range []int{302, 307, 308} {
		t.Run(strconv.Itoa(code)+"/self", func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Status(code, "Location", "/loop")})
			es := newES(t, srv, fastRetry())
			tp := listen(es)
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrTooManyRedirects)
			assert.Len(t, srv.Requests(), 10, "10 hops, and no retry")
			require.Len(t, tp.errs, 1)
			require.ErrorIs(t, tp.errs[0], eventsource.ErrTooManyRedirects)
			assert.Equal(t, []eventsource.ReadyState{eventsource.Closed}, tp.states)
		})
		t.Run(strconv.Itoa(code)+"/two servers", func(t *testing.T) {
			t.Parallel()
			var a, b *est.Server
			a = newServer(t, est.Script{est.Func(func(est.Request) est.Script {
				return est.Script{est.Status(code, "Location", b.URL+"/b")}
			})})
			b = newServer(t, est.Script{est.Func(func(est.Request) est.Script {
				return est.Script{est.Status(code, "Location", a.URL+"/a")}
			})})
			es := newES(t, a, fastRetry(), eventsource.WithHeader("Authorization", "Bearer s3cr3t"))
			tp := listen(es)
			require.ErrorIs(t, recv(t, run(t, es)), eventsource.ErrTooManyRedirects)
			assert.Equal(t, 10, len(a.Requests())+len(b.Requests()))
			for i, req := range append(a.Requests()[1:], b.Requests()...) {
				assert.Empty(t, req.Header.Values("Authorization"), "hop %d: never restored", i)
			}
			assert.Len(t, tp.errs, 1)
		})
	}
}

// TestRedirectLeavesCallerClientAlone: the client of WithHTTPClient keeps
// its CheckRedirect, nil or its own, and its own still runs on a redirect to
// another origin, after the one that drops the custom headers.
func TestRedirectLeavesCallerClientAlone(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"no CheckRedirect", "own CheckRedirect"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newServer(t, est.Script{est.Data("ok"), est.Stall()})
			a := newServer(t, est.Script{est.Status(http.StatusFound, "Location", b.URL+"/stream")})
			var calls atomic.Int32
			own := func(req *http.Request, via []*http.Request) error {
				calls.Add(1)
				assert.Empty(t, req.Header.Values("X-Custom"), "ours ran first and dropped the custom header")
				return nil
			}
			client := &http.Client{Transport: a.Client().Transport}
			if name == "own CheckRedirect" {
				client.CheckRedirect = own
			}
			es, err := eventsource.New(a.URL+"/cross", eventsource.WithHTTPClient(client),
				eventsource.WithHeader("X-Custom", "custom"))
			require.NoError(t, err)
			es.OnMessage(func(eventsource.Event) { es.Close() })
			require.NoError(t, recv(t, run(t, es)))
			assert.Len(t, b.Requests(), 1, "the stream was reached")
			if name == "no CheckRedirect" {
				assert.Nil(t, client.CheckRedirect)
				return
			}
			assert.Equal(t, int32(1), calls.Load(), "the caller's CheckRedirect still runs")
			assert.Equal(t, reflect.ValueOf(own).Pointer(), reflect.ValueOf(client.CheckRedirect).Pointer())
		})
	}
}

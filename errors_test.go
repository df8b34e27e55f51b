package eventsource_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// TestErrorsAreActionable checks every error that Run returns or OnError
// receives, for each way a stream fails: it wraps its cause, so errors.Is
// and errors.As find it (a *StatusError with its status and Retry-After);
// it names the URL without its credentials and query; and it never repeats
// a header value, of the request or of the response, nor the response body.
// The URL has a password and a token in its query, the request secret
// headers, and the responses secret headers and bodies.
func TestErrorsAreActionable(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t"
	hookErr := errors.New("token refresh failed")
	tests := []struct {
		name    string
		scripts []est.Script // nil: no server, the connection is refused
		tls     bool         // serve HTTPS that the client does not trust
		opts    []eventsource.Option
		check   func(t *testing.T, err error) // for each error
	}{
		{
			name:    "503 with Retry-After",
			scripts: []est.Script{{est.Status(503, "Retry-After", "3", "X-Secret", secret, "Set-Cookie", "id="+secret), est.Raw("body " + secret)}},
			check: func(t *testing.T, err error) {
				var se *eventsource.StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, 503, se.StatusCode)
				assert.Equal(t, 3*time.Second, se.RetryAfter)
				assert.Equal(t, "3", se.Header.Get("Retry-After"))
				assert.Equal(t, "body "+secret, se.Body, "the body is there to read, not in the message")
			},
		},
		{
			name:    "404",
			scripts: []est.Script{{est.Status(404, "X-Secret", secret), est.Raw(secret)}},
			check: func(t *testing.T, err error) {
				var se *eventsource.StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, 404, se.StatusCode)
				assert.Zero(t, se.RetryAfter)
			},
		},
		{
			name:    "204",
			scripts: []est.Script{{est.Status(204, "X-Secret", secret)}},
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, eventsource.ErrNoContent) },
		},
		{
			name:    "content type",
			scripts: []est.Script{{est.Status(200, "Content-Type", "text/html; token="+secret, "X-Secret", secret), est.Raw(secret)}},
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, eventsource.ErrContentType) },
		},
		{
			name:    "event too large",
			scripts: []est.Script{{est.Raw("data: " + strings.Repeat(secret, 100) + "\n\n")}},
			opts:    []eventsource.Option{eventsource.WithMaxEventSize(64)},
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, eventsource.ErrEventTooLarge) },
		},
		{
			name:    "clean end of stream",
			scripts: []est.Script{{est.Comment(secret)}},
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, io.EOF) },
		},
		{
			name:    "dropped in an event",
			scripts: []est.Script{{est.Raw("data: " + secret), est.Drop()}},
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, io.ErrUnexpectedEOF) },
		},
		{
			name:    "connection closed before the response",
			scripts: []est.Script{{est.Drop()}},
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, io.EOF) },
		},
		{
			name: "connection refused",
			check: func(t *testing.T, err error) {
				var op *net.OpError
				require.ErrorAs(t, err, &op)
				require.Equal(t, "dial", op.Op)
				if runtime.GOOS != "js" { // js's in-memory network flattens the errno into a string
					require.ErrorIs(t, err, syscall.ECONNREFUSED)
				}
			},
		},
		{
			name:    "idle timeout",
			scripts: []est.Script{{est.Stall()}},
			opts:    []eventsource.Option{eventsource.WithIdleTimeout(time.Minute)}, // the fake clock fires it at once
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, eventsource.ErrIdleTimeout) },
		},
		{
			name:    "redirect loop",
			scripts: []est.Script{{est.Status(307, "Location", "/loop?token="+secret, "X-Secret", secret)}},
			check:   func(t *testing.T, err error) { require.ErrorIs(t, err, eventsource.ErrTooManyRedirects) },
		},
		{
			name:    "redirect to a refused port with credentials",
			scripts: []est.Script{{est.Status(302, "Location", "http://user:"+secret+"@127.0.0.1:1/x?token="+secret)}},
			check: func(t *testing.T, err error) {
				var op *net.OpError
				require.ErrorAs(t, err, &op)
			},
		},
		{
			name:    "request hook",
			scripts: []est.Script{{est.Data("x")}},
			opts: []eventsource.Option{eventsource.WithRequestHook(func(*http.Request) error {
				return hookErr
			})},
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, hookErr) },
		},
		{
			name:    "certificate not trusted",
			scripts: []est.Script{{est.Data("x")}},
			tls:     true,
			check: func(t *testing.T, err error) {
				var cert *tls.CertificateVerificationError
				require.ErrorAs(t, err, &cert)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var base string
			client := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(client.CloseIdleConnections)
			switch {
			case tc.tls:
				srv := est.NewTLSServer(tc.scripts...)
				t.Cleanup(srv.Close)
				base = srv.URL
			case tc.scripts != nil:
				srv := newServer(t, tc.scripts...)
				base = srv.URL
			default:
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				base = "http://" + ln.Addr().String()
				require.NoError(t, ln.Close())
			}
			u, err := url.Parse(base + "/events/feed?token=" + secret + "&x=1")
			require.NoError(t, err)
			u.User = url.UserPassword("user", secret)
			named := base + "/events/feed" // the URL as errors must name it

			opts := append([]eventsource.Option{
				eventsource.WithHTTPClient(client), fastRetry(), eventsource.WithMaxRetries(1),
				eventsource.WithHeader("Authorization", "Bearer "+secret),
				eventsource.WithHeader("Cookie", "session="+secret),
				eventsource.WithHeader("X-Api-Key", secret),
				eventsource.WithLastEventID(secret),
			}, tc.opts...)
			es, err := eventsource.New(u.String(), opts...)
			require.NoError(t, err)
			var errs []error
			es.OnError(func(err error) { errs = append(errs, err) })
			runErr := recv(t, run(t, es))
			require.Error(t, runErr)
			require.NotEmpty(t, errs)
			for i, err := range append(errs, runErr) {
				msg := err.Error()
				assert.NotContains(t, msg, secret, "error %d: %s", i, msg)
				assert.NotContains(t, msg, "token=", "error %d: %s", i, msg)
				assert.NotContains(t, msg, "user", "error %d: %s", i, msg)
				assert.Contains(t, msg, named, "error %d names the URL", i)
				tc.check(t, err)
			}
		})
	}
}

// TestNewErrorHidesSecrets: an invalid URL's error does not repeat its
// password or query, as the errors of Run do not.
func TestNewErrorHidesSecrets(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"http://user:secret@example.com/%zz",
		"http://example.com/%zz?token=secret",
		"ftp://user:secret@example.com/?token=secret",
	} {
		_, err := eventsource.New(u)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "secret", u)
	}
}

// TestGiveUpMessages: the error that ends a stream at WithMaxRetries reads
// well: one reconnection is singular, and WithMaxRetries(0) does not speak
// of giving up after 0 reconnections.
func TestGiveUpMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		max     int
		want    string
		notWant string
	}{
		{0, "(reconnection is off)", "giving up"},
		{1, "giving up after 1 failed reconnection: ", "reconnections"},
		{2, "giving up after 2 failed reconnections in a row: ", ""},
	} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Status(http.StatusServiceUnavailable)})
			es := newES(t, srv, fastRetry(), eventsource.WithMaxRetries(tc.max))
			err := recv(t, run(t, es))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.notWant != "" {
				assert.NotContains(t, err.Error(), tc.notWant)
			}
		})
	}
	t.Run("a clean end with WithMaxRetries(0)", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.Data("x")})
		es := newES(t, srv, eventsource.WithMaxRetries(0))
		err := es.Run(context.Background())
		require.ErrorIs(t, err, io.EOF)
		assert.NotContains(t, err.Error(), "giving up")
	})
}

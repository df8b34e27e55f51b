package eventsourcetest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

func TestRepeat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script est.Script
		want   string
		err    error
	}{
		{"three times", est.Script{est.Repeat(3, est.Data("x"))}, strings.Repeat("data: x\n\n", 3), nil},
		{"no time", est.Script{est.Repeat(0, est.Data("x")), est.Data("after")}, "data: after\n\n", nil},
		{"several steps", est.Script{est.Repeat(2, est.Raw("a"), est.Comment("b"))}, "a: b\na: b\n", nil},
		{"no auto flush", est.Script{est.AutoFlush(false), est.Repeat(2, est.Raw("y"))}, "yy", nil},
		{"nested", est.Script{est.Repeat(2, est.Repeat(2, est.Raw("z")), est.Raw("\n"))}, "zz\nzz\n", nil},
		{"drop after", est.Script{est.DropAfter(5), est.Repeat(-1, est.Raw("ab"))}, "ababa", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.script)
			_, body, err := get(t, srv, "/")
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, body)
		})
	}
}

// TestRepeatEndlessEndsWhenClientLeaves reads 1 MiB of an endless line and
// leaves: the script stops, so Close returns.
func TestRepeatEndlessEndsWhenClientLeaves(t *testing.T) {
	t.Parallel()
	srv := est.NewServer(est.Script{est.AutoFlush(false), est.Repeat(-1, est.Raw(strings.Repeat("x", 1024)))})
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	n, err := io.CopyN(io.Discard, resp.Body, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, int64(1<<20), n)
	cancel()
	resp.Body.Close()
	closeWithin(t, srv)
}

// TestRepeatEndlessEndsOnClose: a client that reads for ever does not keep
// Close waiting; it sees the connection dropped.
func TestRepeatEndlessEndsOnClose(t *testing.T) {
	t.Parallel()
	srv := est.NewServer(est.Script{est.Repeat(-1, est.Comment("tick"))})
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadFull(resp.Body, make([]byte, 4096))
	require.NoError(t, err)

	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		read <- err
	}()
	closeWithin(t, srv)
	require.ErrorIs(t, <-read, io.ErrUnexpectedEOF, "the endless stream was dropped")
}

func TestClearRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.Data("1")}, est.Script{est.Data("2")}, est.Script{est.Data("3")})
	_, body, err := get(t, srv, "/a")
	require.NoError(t, err)
	assert.Equal(t, "data: 1\n\n", body)
	require.Len(t, srv.Requests(), 1)

	srv.ClearRequests()
	assert.Empty(t, srv.Requests())
	_, body, err = get(t, srv, "/b")
	require.NoError(t, err)
	assert.Equal(t, "data: 2\n\n", body, "the scripts go on where they were")
	reqs, err := srv.WaitRequests(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, reqs, 1)
	assert.Equal(t, "/b", reqs[0].URL)
}

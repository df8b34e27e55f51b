//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

// TestSignal sends signals to the command in a process of its own: the test
// binary, which TestMain turns into the command.
func TestSignal(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		sig    syscall.Signal
		code   int
		stderr string
	}{
		"SIGINT":  {syscall.SIGINT, exitInterrupted, "sse: interrupted\n"},
		"SIGTERM": {syscall.SIGTERM, exitTerminated, "sse: terminated\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, est.Script{est.Data("a"), est.Stall()})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], srv.URL)
			cmd.Env = append(os.Environ(), "SSE_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())

			// main listens for signals before it connects.
			_, err := srv.WaitRequests(ctx, 1)
			require.NoError(t, err)
			require.NoError(t, cmd.Process.Signal(tt.sig))

			var exitErr *exec.ExitError
			require.ErrorAs(t, cmd.Wait(), &exitErr)
			assert.Equal(t, tt.code, exitErr.ExitCode(), stderr.String())
			assert.True(t, bytes.HasSuffix(stderr.Bytes(), []byte(tt.stderr)), stderr.String())
			assert.NoError(t, ctx.Err(), "killed by the timeout")
		})
	}
}

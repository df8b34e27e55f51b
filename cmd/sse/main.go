// Command sse is a command-line client for Server-Sent Events, the curl -N
// of event streams: it connects to a stream, prints each event as it comes,
// and reconnects when the connection drops, sending Last-Event-ID so the
// server can resume.
//
// Install it with
//
//	go install github.com/go-eventsource/eventsource/cmd/sse@latest
//
// Usage:
//
//	sse [flags] URL
//
// The flags it shares with curl keep curl's habits: -H 'Key: Value' adds a
// header and -H 'Key:' removes one, the defaults included; -X sets the
// method; -d sends a body, as a POST of a form unless -X and -H say
// otherwise; -u user:password sends basic authentication; -k skips the
// verification of the server's certificate; -s silences the status lines;
// -N is accepted. As with curl, a URL without a scheme, such as
// localhost:8080/events, is an http:// one.
//
// Each event goes to standard output as an event-stream block: an "event:"
// line (left out for type "message"), an "id:" line (left out when there is
// no last event ID), one "data:" line for each line of the data, and an empty
// line, so the output is itself a valid stream. With -json, each event is one
// line of JSON, {"type":…,"data":…,"id":…}, for jq. Each event is written as
// soon as it arrives, never buffered, so curl's -N is accepted and does
// nothing. Connections, reconnections and errors go to standard error, where
// a URL shows no user, password, query or fragment, which may be secrets. With
// -s, only an error that ends the run is printed there: unlike curl -s,
// which hides errors too unless -S is given, sse -s hides only the status
// lines.
//
// The exit status is 0 when the stream ends normally: -count events were
// printed, the server answered 204 No Content, or, with -max-retries 0, the
// stream ended cleanly. It is 1 when the stream ended with an error (a status
// such as 404, a response that is not text/event-stream, too many failed
// reconnections), 2 for a usage error, 130 when SIGINT (Ctrl-C) stopped it,
// and 143 when SIGTERM did: 128 and the signal's number, as a shell reports a
// process that the signal killed. Run "sse -help" for the flags.
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/go-eventsource/eventsource"
)

const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT
	exitTerminated  = 143 // 128 + SIGTERM
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() { cancel(signalError{<-signals}) }()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(signals)
	os.Exit(code)
}

// A signalError is the cause of the context that main cancels when a signal
// arrives, from which run picks the exit status.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "sse: " + e.sig.String() }

const usageText = `Usage: sse [flags] URL

sse connects to a Server-Sent Events stream and prints its events, and
reconnects when the connection drops, sending Last-Event-ID so that the
server can resume. Flags may come before or after the URL. A URL without a
scheme, such as localhost:8080/events, means http://.

Each event goes to stdout as an event-stream block, which is itself a valid
stream:

  event: TYPE    (left out for type "message")
  id: ID         (left out when there is no last event ID)
  data: LINE     (one for each line of the data)
                 (an empty line)

With -json, each event is one line {"type":…,"data":…,"id":…}, for jq.
Each event is written as soon as it arrives: the output is never buffered,
and -N, which curl needs for a stream, is accepted and does nothing.

Connections, reconnections and errors go to stderr, where a URL never shows
its user, password, query or fragment. Each line starts with the
connection's state: after an error, Connecting means that sse will
reconnect, and Closed that it will not. -s silences the status lines
(connected, reconnected, an error that sse retries, interrupted,
terminated), and leaves the error that ends the run: unlike curl -s, it
needs no -S for that.

As in curl, -H 'Key:', with no value, removes a header: one that sse sends
by default (Accept: text/event-stream, Cache-Control: no-cache), one that
-d (Content-Type) or -u (Authorization) adds, or an earlier -H. Headers set
with -H and -u are not sent to another origin after a redirect.
-u wants user:password: unlike curl, sse does not ask for a missing password.

Examples:

  sse -json https://example.com/events | jq -r .data
  sse -event quote -count 10 https://example.com/ticker
  sse -k -s https://localhost:8443/events
  sse -H 'Authorization: Bearer TOKEN' -d @request.json -max-retries 0 \
      -H 'Content-Type: application/json' https://api.example.com/v1/stream

Flags:
`

const exitText = `
Exit status:
  0    the stream ended normally: -count events were printed, the server
       answered 204 No Content, or, with -max-retries 0, the stream ended
  1    the stream ended with an error: a status such as 404, a response that
       is not text/event-stream, an event over -max-event-size, or too many
       failed reconnections
  2    usage error: a bad flag or value, no URL, an unreadable -d @file
  130  interrupted by SIGINT (Ctrl-C)
  143  terminated by SIGTERM
`

// run is the whole command: it parses args, streams to stdout and stderr
// until ctx ends or the stream does, and returns the exit status. When ctx
// ends, the status is 143 if its cause is a signalError for SIGTERM, and 130
// otherwise.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // -help prints it below, a bad flag a hint
	var (
		headers headerFlag
		types   listFlag
	)
	fs.Var(&headers, "H", "add the request header `'Key: Value'`, or remove it with 'Key:'; repeatable (the last one for a key wins)")
	userPass := fs.String("u", "", "send `user:password` with basic authentication (a -H Authorization replaces it)")
	method := fs.String("X", "", "request `method` (default GET, or POST with -d)")
	data := fs.String("d", "", "request body `data`, or @file to read it from a file; sent again on each reconnection, as application/x-www-form-urlencoded unless -H sets a Content-Type")
	lastEventID := fs.String("last-event-id", "", "start after the event with this `id`: send it as Last-Event-ID")
	retry := fs.Duration("retry", 0, "first reconnection `delay` (default 3s); a retry: field from the server replaces it")
	maxRetryDelay := fs.Duration("max-retry-delay", 0, "longest reconnection `delay` of the exponential backoff (default 30s)")
	maxRetries := fs.Int("max-retries", -1, "give up after `n` failed reconnections in a row; -1 retries for ever, 0 never reconnects")
	fs.Var(&types, "event", "print only events of this `type`; repeatable")
	jsonOut := fs.Bool("json", false, `print each event as one line of JSON: {"type","data","id"}`)
	count := fs.Int("count", 0, "exit after `n` printed events (default no limit)")
	idleTimeout := fs.Duration("idle-timeout", 0, "reconnect when no byte, not even a comment, arrives for this `duration` (default never)")
	maxEventSize := fs.Int("max-event-size", 0, "largest line or event data, in `bytes` (default 16 MiB)")
	insecure := fs.Bool("k", false, "insecure: do not verify the server's TLS certificate")
	silent := fs.Bool("s", false, "silent: print no status lines on stderr, only an error that ends the run")
	fs.Bool("N", false, "does nothing, as the output is never buffered; accepted for curl's sake")

	positional, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, exitText)
		return exitOK
	}
	const hint = `Run "sse -help" for usage.`
	if err != nil {
		fmt.Fprintln(stderr, hint) // after the flag package's message
		return exitUsage
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sse: "+format+"\n", a...)
		fmt.Fprintln(stderr, hint)
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// The flags are checked here, and -H as it is parsed, so that an error
	// names the flag, not the library's option that would refuse it.
	switch {
	case len(positional) == 0:
		return usageError("no URL")
	case len(positional) > 1:
		var shown []string
		for _, arg := range positional {
			shown = append(shown, redact(arg))
		}
		return usageError("one URL only, got %d arguments: %q", len(positional), shown)
	case *count < 0:
		return usageError("-count: must not be negative")
	case set["X"] && !validToken(*method):
		return usageError("-X: invalid method %q", *method)
	case set["u"] && !strings.Contains(*userPass, ":"):
		// curl asks for the password of a -u without one; sse reads no
		// terminal, and an empty password is seldom what was meant.
		return usageError("-u: want user:password")
	case hasControl(*lastEventID):
		return usageError("-last-event-id: the ID holds a control character, which a header cannot carry")
	case *retry < 0:
		return usageError("-retry: negative duration")
	case set["max-retry-delay"] && *maxRetryDelay <= 0:
		return usageError("-max-retry-delay: the duration must be positive")
	case *maxRetries < -1:
		return usageError("-max-retries: want -1 (for ever), 0 or more")
	case *idleTimeout < 0:
		return usageError("-idle-timeout: negative duration")
	case set["max-event-size"] && *maxEventSize <= 0:
		return usageError("-max-event-size: the size must be positive")
	}

	// Our own transport, so that no idle connection outlives run.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	if *insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	opts := []eventsource.Option{eventsource.WithHTTPClient(&http.Client{Transport: transport})}
	if set["u"] {
		// A header, not the URL's user info, so that the library drops it
		// on a redirect to another origin, as it does every -H. The -H
		// headers come after it: theirs replaces it.
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(*userPass))
		opts = append(opts, eventsource.WithHeader("Authorization", auth))
	}
	if set["d"] {
		body := []byte(*data)
		if name, ok := strings.CutPrefix(*data, "@"); ok {
			if body, err = os.ReadFile(name); err != nil {
				return usageError("-d: %v", err)
			}
		}
		// curl's Content-Type for -d, which a -H, after it, replaces.
		opts = append(opts, eventsource.WithBody(body),
			eventsource.WithHeader("Content-Type", "application/x-www-form-urlencoded"))
		if !set["X"] {
			*method = http.MethodPost
		}
	}
	for _, h := range headers {
		opts = append(opts, eventsource.WithHeader(h.key, h.value))
	}
	if *method != "" {
		opts = append(opts, eventsource.WithMethod(*method))
	}
	// The flags given, and only those, become options: the library's
	// defaults stay the defaults.
	for _, f := range []struct {
		name string
		opt  func() eventsource.Option
	}{
		{"last-event-id", func() eventsource.Option { return eventsource.WithLastEventID(*lastEventID) }},
		{"retry", func() eventsource.Option { return eventsource.WithRetry(*retry) }},
		{"max-retry-delay", func() eventsource.Option { return eventsource.WithMaxRetryDelay(*maxRetryDelay) }},
		{"max-retries", func() eventsource.Option { return eventsource.WithMaxRetries(*maxRetries) }},
		{"idle-timeout", func() eventsource.Option { return eventsource.WithIdleTimeout(*idleTimeout) }},
		{"max-event-size", func() eventsource.Option { return eventsource.WithMaxEventSize(*maxEventSize) }},
	} {
		if set[f.name] {
			opts = append(opts, f.opt())
		}
	}
	es, err := eventsource.New(withScheme(positional[0]), opts...)
	if err != nil {
		// The flags passed the checks above: this is about the URL.
		return usageError("%s", strings.TrimPrefix(err.Error(), "eventsource: "))
	}

	emit := printText
	if *jsonOut {
		emit = printJSON
	}
	// The callbacks run one at a time on this goroutine, inside es.Run, so
	// these need no lock.
	shownURL := redact(es.URL())
	var (
		printed, opens int
		writeErr       error
		lastReported   error
	)
	// status prints a line that -s silences: any but an error that ends
	// the run.
	status := func(format string, a ...any) {
		if !*silent {
			fmt.Fprintf(stderr, format, a...)
		}
	}
	// Each stderr line starts with the ReadyState: after an error, Connecting
	// means a reconnection follows, Closed that none does.
	es.OnOpen(func() {
		opens++
		if opens == 1 {
			status("sse: %v: connected to %s\n", es.ReadyState(), shownURL)
			return
		}
		status("sse: %v: reconnected to %s with Last-Event-ID %q\n", es.ReadyState(), shownURL, es.LastEventID())
	})
	es.OnError(func(err error) {
		lastReported = err
		state := es.ReadyState()
		if state == eventsource.Connecting {
			status("sse: %v: error: %s\n", state, describe(err))
			return
		}
		fmt.Fprintf(stderr, "sse: %v: error: %s\n", state, describe(err))
	})
	es.OnEvent(func(ev eventsource.Event) {
		if writeErr != nil || (*count > 0 && printed >= *count) {
			return // Close was called; Run is on its way out
		}
		if len(types) > 0 && !slices.Contains(types, ev.Type) {
			return
		}
		if writeErr = emit(stdout, ev); writeErr != nil {
			es.Close()
			return
		}
		printed++
		if *count > 0 && printed >= *count {
			es.Close()
		}
	})

	err = es.Run(ctx)
	switch {
	case writeErr != nil:
		fmt.Fprintf(stderr, "sse: writing the output: %v\n", writeErr)
		return exitError
	case err == nil:
		return exitOK
	case ctx.Err() != nil:
		if se := (signalError{}); errors.As(context.Cause(ctx), &se) && se.sig == syscall.SIGTERM {
			status("sse: terminated\n")
			return exitTerminated
		}
		status("sse: interrupted\n")
		return exitInterrupted
	}
	if err != lastReported {
		fmt.Fprintf(stderr, "sse: error: %s\n", describe(err))
	}
	switch {
	case errors.Is(err, eventsource.ErrNoContent):
		return exitOK
	case *maxRetries == 0 && errors.Is(err, io.EOF):
		return exitOK // a one-shot stream that ended: what -max-retries 0 asks for
	}
	return exitError
}

// This file holds the parsing of the command line: flags after the URL,
// repeated -H and -event, and URLs without a scheme.

package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
)

// parseInterleaved parses the flags in args, which may come before, between
// and after the positional arguments, and returns those. As with the flag
// package, "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// withScheme returns rawURL with "http://" in front when it has no scheme,
// as curl reads it. It looks for "://" after a valid scheme name, since
// url.Parse takes the host of "localhost:8080/events" for a scheme.
func withScheme(rawURL string) string {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if ok && validScheme(scheme) {
		return rawURL
	}
	return "http://" + rawURL
}

// validScheme reports whether s is a URL scheme (RFC 3986): a letter, then
// letters, digits, "+", "-" and ".".
func validScheme(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// headerFlag collects the values of a repeated -H flag, each "Key: Value".
type headerFlag []header

type header struct{ key, value string }

func (h *headerFlag) String() string {
	var parts []string
	for _, kv := range *h {
		parts = append(parts, kv.key+": "+kv.value)
	}
	return strings.Join(parts, ", ")
}

func (h *headerFlag) Set(s string) error {
	key, value, ok := strings.Cut(s, ":")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch {
	case !ok || key == "":
		return errors.New(`want "Key: Value"`)
	case !validToken(key):
		return fmt.Errorf("invalid header name %q", key)
	case http.CanonicalHeaderKey(key) == "Last-Event-Id":
		return errors.New("send Last-Event-ID with -last-event-id")
	case hasControl(value):
		return errors.New("the value holds a control character")
	}
	*h = append(*h, header{key, value})
	return nil
}

// validToken reports whether s is an HTTP token (RFC 9110), as header names
// and methods must be.
func validToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	})
}

// hasControl reports whether s holds a control character other than tab,
// which an HTTP header value cannot.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f })
}

// listFlag collects the values of a repeated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ", ") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

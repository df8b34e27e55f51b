// This file holds what the command writes: events as a stream or as
// JSON, and errors and URLs without their secrets.

package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"

	"github.com/go-eventsource/eventsource"
)

// redact returns rawURL without its user info, query and fragment, which
// may hold secrets, as the library's errors print a URL.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an invalid URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// describe returns the text of err for stderr, with the first line of the
// response body when the server answered with an error status, since that
// usually says why.
func describe(err error) string {
	msg := err.Error()
	var se *eventsource.StatusError
	if errors.As(err, &se) {
		body, _, _ := strings.Cut(strings.TrimSpace(se.Body), "\n")
		if body != "" {
			msg += ": " + body
		}
	}
	return msg
}

func printText(w io.Writer, ev eventsource.Event) error {
	var b strings.Builder
	field := func(name, value string) { b.WriteString(name + ": " + value + "\n") }
	if ev.Type != "message" {
		field("event", ev.Type)
	}
	if ev.ID != "" {
		field("id", ev.ID)
	}
	for line := range strings.SplitSeq(ev.Data, "\n") {
		field("data", line)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func printJSON(w io.Writer, ev eventsource.Event) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Type string `json:"type"`
		Data string `json:"data"`
		ID   string `json:"id"`
	}{ev.Type, ev.Data, ev.ID})
}

// This file holds the redirect policy: custom headers stay within the
// origin of the first request.

package eventsource

import (
	"net/http"
	"net/url"
	"strings"
)

// checkRedirect returns the CheckRedirect of the client's copy: it keeps
// custom headers only while every hop has the origin of the first request,
// then runs the caller's own CheckRedirect, or stops after 10 hops.
func checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !sameOriginChain(via[0].URL, req, via) {
			for key := range req.Header {
				switch key {
				case "Accept", "Cache-Control", "Last-Event-Id":
				default:
					delete(req.Header, key)
				}
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return ErrTooManyRedirects
		}
		return nil
	}
}

// sameOriginChain reports whether req and every hop before it share the
// origin of first.
func sameOriginChain(first *url.URL, req *http.Request, via []*http.Request) bool {
	origin := originOf(first)
	if originOf(req.URL) != origin {
		return false
	}
	for _, r := range via {
		if originOf(r.URL) != origin {
			return false
		}
	}
	return true
}

// originOf returns u's scheme, host and port, with the default port made
// explicit.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

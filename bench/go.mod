module github.com/go-eventsource/eventsource/bench

go 1.26

replace github.com/go-eventsource/eventsource => ../

require (
	github.com/donovanhide/eventsource v0.0.0-20210830082556-c59027999da0
	github.com/go-eventsource/eventsource v0.0.0-00010101000000-000000000000
	github.com/launchdarkly/eventsource v1.11.0
	github.com/r3labs/sse/v2 v2.10.0
	github.com/tmaxmax/go-sse v0.12.0
	gopkg.in/cenkalti/backoff.v1 v1.1.0
)

require golang.org/x/net v0.0.0-20191116160921-f9c825593386 // indirect

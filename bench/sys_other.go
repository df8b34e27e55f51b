//go:build !unix

package main

import (
	"errors"
	"time"
)

var errNoUnix = errors.New("not supported on this system")

func raiseOpenFiles() (soft, hard uint64, err error) { return 0, 0, errNoUnix }

func cpuTime() (time.Duration, error) { return 0, errNoUnix }

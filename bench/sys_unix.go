//go:build unix

package main

import (
	"syscall"
	"time"
)

// raiseOpenFiles raises the soft limit of open files to the hard one, and
// returns both as they are then: each stream of the scale mode holds a
// socket in the client and another in the server.
func raiseOpenFiles() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = want.Max
		err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return uint64(lim.Cur), uint64(lim.Max), err
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

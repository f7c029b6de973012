//go:build !unix

package testkit

import "time"

// ProcessCPU is zero here: this system's CPU time is not read (see cpu_unix.go).
func ProcessCPU() time.Duration { return 0 }

package main

import (
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/connector"
)

// limiterWindow, when set at link time (go build -ldflags "-X main.limiterWindow=5s"), replaces the
// 61 s window of the HipChat client's limiter in a binary on bbolt. No flag or environment variable
// reaches it: only the crash tests build such a binary, so that the window a restart after kill -9
// waits before polling again (connector.Client.ResumeAfterCrash, a policy the connector package
// tests with an injected clock) does not take a minute of tests whose subject is what survives the
// crash. Their connections make one call a second, far below any window's budget.
var limiterWindow string

// clientLimiter is the budget the HipChat client's calls pass: the replicas' shared one with etcd;
// else nil (the client's default limiter), or one of limiterWindow when the binary was linked
// with it. Errors: a limiterWindow that is not a positive duration.
func clientLimiter(rep *cluster.Replica) (connector.CallLimiter, error) {
	if l := rep.Limiter(); l != nil || limiterWindow == "" {
		return l, nil
	}
	window, err := time.ParseDuration(limiterWindow)
	if err != nil || window <= 0 {
		return nil, fmt.Errorf("the limiter window linked into this binary (%q) is not a positive duration", limiterWindow)
	}
	opts := connector.DefaultLimiterOptions()
	opts.Window = window
	opts.IdleAfter = max(opts.IdleAfter, window)
	return connector.NewLimiter(opts), nil
}

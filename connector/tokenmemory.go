package connector

import (
	"context"
	"time"
)

// TokenMemory keeps, across restarts and crashes, the connections whose token HipChat accepted
// here (by connection ID, a hash of the token), so that a known connection is never held back as an
// unknown one after a restart. The store is one.
type TokenMemory interface {
	// KnownConnections returns every connection ID remembered.
	KnownConnections() ([]string, error)
	// RememberConnections adds ids to those remembered.
	RememberConnections(ids []string) error
}

// RecallKnownTokens marks the connections memory remembers as verified: the calls of their
// tokens pass the token gate as before the restart. Call it before serving.
// Errors: memory's.
func (c *Client) RecallKnownTokens(memory TokenMemory) error {
	ids, err := memory.KnownConnections()
	if err != nil {
		return err
	}
	c.gate.restoreKnown(ids)
	return nil
}

// KeepKnownTokens writes the connections HipChat accepted for the first time to memory, every
// `every` and once more when ctx ends, until ctx ends; a failed write is tried again with the next
// batch. A token accepted within `every` of a crash is verified again after it: one call, passing
// the gate for unknown tokens. It returns nil when ctx ends.
func (c *Client) KeepKnownTokens(ctx context.Context, memory TokenMemory, every time.Duration, logFailure func(error)) error {
	t := time.NewTicker(every)
	defer t.Stop()
	var pending []string
	flush := func() {
		pending = append(pending, c.gate.remembered()...)
		if len(pending) == 0 {
			return
		}
		if err := memory.RememberConnections(pending); err != nil {
			logFailure(err)
			return
		}
		pending = nil
	}
	for {
		select {
		case <-ctx.Done():
			flush()
			return nil
		case <-t.C:
			flush()
		}
	}
}

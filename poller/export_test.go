package poller

// Polling reports whether connection id is still being polled from an earlier tick, so that a test
// can wait for one connection's part of a tick to end while another's is still blocked.
func (p *Poller) Polling(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.conns[id]
	return st != nil && st.running
}

// Wait waits for the doorbell reads (and connection turns) running now to end.
func (p *Poller) Wait() { p.runs.Wait() }

// RingQuiet is how long a busy feed's doorbells must be quiet before its read (doorbell.go).
const RingQuiet = ringQuiet

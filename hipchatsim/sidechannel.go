package hipchatsim

import (
	"net/http"
)

// The side channel (DESIGN.md §8) is not HipChat: it lets tests and operators watch and disturb the
// emulator. No token is needed.

// handleCalls is GET /_sim/calls: per token (by SHA-256), the total of authenticated requests and the
// most it made in any 60 s and any 300 s (half-open windows on the injected clock).
func (s *Server) handleCalls(c *call) error {
	return c.json(http.StatusOK, map[string]any{"tokens": s.meter.calls()})
}

// handlePostFault is POST /_sim/faults → 204: from now on, /v2/ requests (of the token whose SHA-256
// is token_sha256, or all) wait delay_ms and then, with probability rate, get status (429, 500 or
// 503) instead of an answer. A fault with only delay_ms just delays every request. A new fault
// replaces the one for the same token. webhook_drop_rate and webhook_delay_ms (alone or beside the
// rest) apply to every room webhook call: that share of calls is silently not made, and each call
// waits that long first; they replace the previous webhook fault. Invalid fields are a 400 naming
// the field.
func (s *Server) handlePostFault(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	wf, hasWebhook, err := parseWebhookFault(f)
	if err != nil {
		return err
	}
	var ft fault
	hasAPI := f.has("status") || f.has("delay_ms") || f.has("rate") || !hasWebhook
	if hasAPI {
		if ft, err = parseFault(f); err != nil {
			return err
		}
	}
	if hasWebhook {
		s.hooks.setFault(&wf)
	}
	if hasAPI {
		s.addFault(ft)
	}
	return c.noContent()
}

// handleDeleteFaults is DELETE /_sim/faults → 204: no more faults, webhook faults included.
func (s *Server) handleDeleteFaults(c *call) error {
	s.clearFaults()
	s.hooks.setFault(nil)
	return c.noContent()
}

// handleDeleteMessage is DELETE /_sim/room/{room}/history/{mid} → 204: the message is marked deleted,
// as if its author had deleted it in a HipChat client (the v2 API had no such method). History then
// shows it with "message": null, or leaves it out with include_deleted=false.
func (s *Server) handleDeleteMessage(c *call) error {
	s.mu.RLock()
	r, err := c.pathRoom()
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	if !r.hist.markDeleted(c.r.PathValue("mid")) {
		return errorf(http.StatusNotFound, "Message %s not found", c.r.PathValue("mid"))
	}
	return c.noContent()
}

package hipchatsim

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"regexp"
	"time"
)

// fault is one injected misbehaviour (POST /_sim/faults, DESIGN.md §8): every /v2/ request whose
// token matches waits delay, then with probability rate is answered with status instead of running.
type fault struct {
	TokenSHA256 string  `json:"token_sha256,omitempty"` // empty: every request
	Status      int     `json:"status,omitempty"`       // 0: delay only
	Rate        float64 `json:"rate"`
	DelayMS     int     `json:"delay_ms,omitempty"`
}

// maxFaultDelay bounds delay_ms so a typo cannot hang a test for hours.
const maxFaultDelay = 60_000

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// parseFault validates a POST /_sim/faults body. status is optional when delay_ms is given; rate
// defaults to 1 when a status is given, and to 0 otherwise.
func parseFault(f fields) (fault, error) {
	var ft fault
	sha, present, err := f.optional("token_sha256", 0, 64)
	if err != nil {
		return ft, err
	}
	if present && !hexSHA256.MatchString(sha) {
		return ft, invalid("token_sha256", "format", sha, "Field 'token_sha256' must be 64 lower-case hex digits (the SHA-256 of a token)")
	}
	ft.TokenSHA256 = sha
	if f.has("status") {
		if err := json.Unmarshal(f["status"], &ft.Status); err != nil || (ft.Status != 401 && ft.Status != 429 && ft.Status != 500 && ft.Status != 503) {
			return ft, invalid("status", "choice", json.RawMessage(f["status"]), "Field 'status' must be one of: 401, 429, 500, 503")
		}
	}
	if f.has("delay_ms") {
		if err := json.Unmarshal(f["delay_ms"], &ft.DelayMS); err != nil || ft.DelayMS < 0 || ft.DelayMS > maxFaultDelay {
			return ft, invalid("delay_ms", "range", json.RawMessage(f["delay_ms"]), "Field 'delay_ms' must be an integer between 0 and %d", maxFaultDelay)
		}
	}
	if ft.Status == 0 && ft.DelayMS == 0 {
		return ft, missing("status")
	}
	if ft.Status != 0 {
		ft.Rate = 1
	}
	if f.has("rate") {
		if err := json.Unmarshal(f["rate"], &ft.Rate); err != nil || ft.Rate < 0 || ft.Rate > 1 {
			return ft, invalid("rate", "range", json.RawMessage(f["rate"]), "Field 'rate' must be a number between 0 and 1")
		}
	}
	return ft, nil
}

// parseWebhookFault reads the webhook part of a POST /_sim/faults body: webhook_drop_rate (0–1, the
// share of webhook calls silently not made) and webhook_delay_ms (0–60000, a wait before each call).
// present is false when the body has neither.
func parseWebhookFault(f fields) (wf webhookFault, present bool, err error) {
	if f.has("webhook_drop_rate") {
		present = true
		if err := json.Unmarshal(f["webhook_drop_rate"], &wf.dropRate); err != nil || wf.dropRate < 0 || wf.dropRate > 1 {
			return wf, true, invalid("webhook_drop_rate", "range", json.RawMessage(f["webhook_drop_rate"]), "Field 'webhook_drop_rate' must be a number between 0 and 1")
		}
	}
	if f.has("webhook_delay_ms") {
		present = true
		var ms int
		if err := json.Unmarshal(f["webhook_delay_ms"], &ms); err != nil || ms < 0 || ms > maxFaultDelay {
			return wf, true, invalid("webhook_delay_ms", "range", json.RawMessage(f["webhook_delay_ms"]), "Field 'webhook_delay_ms' must be an integer between 0 and %d", maxFaultDelay)
		}
		wf.delay = time.Duration(ms) * time.Millisecond
	}
	return wf, present, nil
}

// addFault installs ft, replacing an earlier fault for the same token (or for all tokens). The set is
// copied on write so that requests read it without a lock.
func (s *Server) addFault(ft fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	var next []fault
	if cur := s.faults.Load(); cur != nil {
		for _, f := range *cur {
			if f.TokenSHA256 != ft.TokenSHA256 {
				next = append(next, f)
			}
		}
	}
	next = append(next, ft)
	s.faults.Store(&next)
}

func (s *Server) clearFaults() {
	s.faultMu.Lock()
	s.faults.Store(nil)
	s.faultMu.Unlock()
}

// faultFor returns the fault that applies to a request carrying token (possibly empty): a fault for
// that token wins over one for every token.
func (s *Server) faultFor(token string) (fault, bool) {
	list := s.faults.Load()
	if list == nil || len(*list) == 0 {
		return fault{}, false
	}
	var sha string
	if token != "" {
		sha = newUsage(token).sha
	}
	var all *fault
	for i := range *list {
		f := &(*list)[i]
		if f.TokenSHA256 == "" {
			all = f
		} else if f.TokenSHA256 == sha {
			return *f, true
		}
	}
	if all != nil {
		return *all, true
	}
	return fault{}, false
}

// delay waits the fault's delay, or until the request is abandoned.
func (ft fault) delay(ctx context.Context) {
	if ft.DelayMS <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(ft.DelayMS) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// fires decides whether this request gets the fault's status.
func (ft fault) fires() bool {
	return ft.Status != 0 && ft.Rate > 0 && (ft.Rate >= 1 || rand.Float64() < ft.Rate) // #nosec G404 -- fault dice for tests, nothing secret
}

// faultError is the body an injected status comes with: HipChat's own for 429 and for 401 (a token
// HipChat stopped accepting, and that works again once the fault is cleared).
func faultError(status int) *apiError {
	switch status {
	case http.StatusTooManyRequests:
		return errRateLimited
	case http.StatusUnauthorized:
		return errBadToken
	}
	return errorf(status, "%s", http.StatusText(status))
}

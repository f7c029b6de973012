package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// finishedAttempt is an attempt made and waiting to be recorded.
type finishedAttempt struct {
	delivery      state.Delivery
	attempt       state.Attempt
	outcome       state.Outcome
	endpoint      *endpointState
	failedTooLong bool // the endpoint has failed for DisableAfter
}

// attempt POSTs one delivery of sub (as dispatch last read it) and returns the attempt to record,
// with the endpoint's new circuit state; nil when no attempt was made (the deliverer is shutting
// down).
func (d *Deliverer) attempt(ctx context.Context, del state.Delivery, sub state.Subscription, s *slot) *finishedAttempt {
	ep := s.ep
	at := d.now()
	started := time.Now()
	status, header, sendErr := d.post(ctx, sub, del, at, s.answered)
	if sendErr != nil && ctx.Err() != nil {
		return nil // shutting down cut the POST: not the receiver's failure; the delivery stays due
	}
	// An answer that came is recorded even when shutdown began meanwhile: a delivered event must not
	// be sent again after the restart.
	a := state.Attempt{At: at, StatusCode: status, Duration: time.Since(started)}
	if sendErr != nil {
		a.Error = d.describe(sendErr)
	}
	outcome := d.outcome(del, &a, sendErr, header, at)
	endpoint, failedTooLong := d.observe(ep, at, outcome.Status == state.DeliveryDelivered, status == http.StatusGone, a.Error)
	outcome.Endpoint = endpoint
	return &finishedAttempt{delivery: del, attempt: a, outcome: outcome, endpoint: ep, failedTooLong: failedTooLong}
}

// recorded logs and counts one attempt once the store has it (err: it could not be recorded; the
// delivery stays due and goes again, with its webhook-id).
func (d *Deliverer) recorded(f finishedAttempt, err error) {
	del, a, outcome, status := f.delivery, f.attempt, f.outcome, f.attempt.StatusCode
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrNotPending) {
			d.log.Error("recording delivery attempt failed", "subscription", del.SubscriptionID, "delivery", del.ID, "err", err)
		}
		return
	}
	d.metrics.observeAttempt(outcome, a.Duration)
	if f.failedTooLong {
		d.disableEndpoint(f.endpoint, a.At)
	}
	switch {
	case outcome.Status == state.DeliveryDelivered:
		d.log.Debug("delivered", "subscription", del.SubscriptionID, "delivery", del.ID, "status", status)
	case outcome.DisableReason != "":
		d.log.Warn("callback answered 410 Gone; subscription disabled", "subscription", del.SubscriptionID, "delivery", del.ID)
	case outcome.Status == state.DeliveryDead:
		d.log.Warn("delivery dead-lettered", "subscription", del.SubscriptionID, "delivery", del.ID, "last_error", a.Error, "status", status)
	default:
		d.log.Info("delivery failed; will retry", "subscription", del.SubscriptionID, "delivery", del.ID,
			"status", status, "err", a.Error, "next_attempt_at", outcome.NextAttemptAt)
	}
}

// post sends one signed POST and returns the receiver's status and headers (0, nil on a transport
// failure).
func (d *Deliverer) post(ctx context.Context, sub state.Subscription, del state.Delivery, at time.Time, answered func()) (int, http.Header, error) {
	req, err := webhook.NewRequest(ctx, sub.CallbackURL, sub.SigningSecrets(at), webhook.Message{
		ID: del.ID, Type: del.Type, SubscriptionID: del.SubscriptionID, CatchUpNote: del.CatchUpNote, Payload: del.Payload,
	}, at, d.userAgent)
	if err != nil {
		return 0, nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	answered()
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, resp.Header, nil
}

// outcome decides what becomes of a delivery after attempt a, and notes final failures in a.Error.
func (d *Deliverer) outcome(del state.Delivery, a *state.Attempt, sendErr error, header http.Header, at time.Time) state.Outcome {
	switch {
	case a.StatusCode >= 200 && a.StatusCode <= 299:
		return state.Delivered()
	case a.StatusCode == http.StatusGone:
		a.Error = "the callback answered 410 Gone"
		return state.Disable(fmt.Sprintf("the callback answered 410 Gone at %s", at.UTC().Format(time.RFC3339)))
	case errors.Is(sendErr, webhook.ErrUnusableSecret): // no retry can help
		a.Error += "; " + exhaustedNote
		return state.Dead()
	}
	if a.Error == "" {
		a.Error = http.StatusText(a.StatusCode)
	}
	round := del.RoundAttempts + 1
	if round > len(d.schedule) {
		a.Error += fmt.Sprintf("; %s after %d attempts", exhaustedNote, round)
		return state.Dead()
	}
	delay := d.jitter(d.schedule[round-1])
	if ra := webhook.RetryAfter(header, at); ra > delay {
		delay = ra
	}
	return state.RetryAt(at.Add(delay))
}

// describe says in a few words why an attempt got no answer. It never includes the callback URL,
// whose query may hold the receiver's credentials (Logic Apps' sig).
func (d *Deliverer) describe(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, webhook.ErrUnusableSecret):
		return webhook.ErrUnusableSecret.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s", d.timeout)
	case errors.Is(err, webhook.ErrCallbackURL):
		msg := err.Error()
		if i := strings.Index(msg, webhook.ErrCallbackURL.Error()); i >= 0 {
			msg = msg[i:]
		}
		return msg
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return "connection failed: " + err.Error()
}

package state

import (
	"encoding/json"
	"time"
)

// DeliveryRecord is the stored form of a Delivery, its key holding the subscription id and Seq.
// The bbolt store writes it in its compact binary form (deliveryformat.go; version 4 of that store
// wrote the form of deliveryformat_v4.go, version 3 JSON, which their migrations read), and the
// etcd store writes it as JSON: the tags are that form.
type DeliveryRecord struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	// Body is a JSON payload as it is (since bbolt schema version 3); Payload, base64 in JSON, is
	// one that is not JSON, and the form earlier versions wrote. Body is read when present.
	Body          json.RawMessage `json:"body,omitempty"`
	Payload       []byte          `json:"payload,omitempty"`
	CatchUpNote   string          `json:"catch_up_note,omitempty"`
	Status        string          `json:"status"`
	Attempts      []Attempt       `json:"attempts,omitempty"`
	RoundAttempts int             `json:"round_attempts,omitempty"` // since schema version 2
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	CreatedAt     time.Time       `json:"created_at"`
	DeliveredAt   time.Time       `json:"delivered_at"`
	// QueuedAt is when the delivery last entered the queue (CommitFeed or
	// Resend); it grows with Seq, which lets Prune stop early.
	QueuedAt time.Time `json:"queued_at"`

	packed *packedText // the text as the bbolt form held it (deliveryformat.go), reused while unchanged
}

// NewDeliveryRecord is the record of event ev queued at now as delivery id (DeliveryID): pending,
// due at once, its payload in Body when it is JSON and in Payload when not (a caller's mistake, kept
// as it came).
func NewDeliveryRecord(id string, ev Event, now time.Time) *DeliveryRecord {
	rec := &DeliveryRecord{
		ID: id, EventID: ev.ID, Type: ev.Type, CatchUpNote: ev.CatchUpNote,
		Status: DeliveryPending, NextAttemptAt: now, CreatedAt: now, QueuedAt: now,
	}
	if json.Valid(ev.Payload) {
		rec.Body = json.RawMessage(ev.Payload)
	} else {
		rec.Payload = ev.Payload
	}
	return rec
}

// Delivery is the delivery seq of subscription subID that rec stores.
func (rec *DeliveryRecord) Delivery(subID string, seq uint64) Delivery {
	return Delivery{
		ID: rec.ID, SubscriptionID: subID, Seq: seq, EventID: rec.EventID, Type: rec.Type,
		Payload: rec.payload(), CatchUpNote: rec.CatchUpNote, Status: rec.Status,
		Attempts: rec.Attempts, RoundAttempts: rec.RoundAttempts, NextAttemptAt: rec.NextAttemptAt, CreatedAt: rec.CreatedAt,
		DeliveredAt: rec.DeliveredAt,
	}
}

// payload is the delivery's JSON body, whichever version wrote it.
func (rec *DeliveryRecord) payload() []byte {
	if rec.Body != nil {
		return rec.Body
	}
	return rec.Payload
}

// Requeue makes rec pending again, as a delivery that just entered the queue at now: due at once,
// a new round of attempts, no longer delivered; its id, payload and past attempts stay.
func (rec *DeliveryRecord) Requeue(now time.Time) {
	rec.Status, rec.RoundAttempts = DeliveryPending, 0
	rec.NextAttemptAt, rec.QueuedAt, rec.DeliveredAt = now, now, time.Time{}
}

// FinishedAt is when a finished delivery got its final answer.
func (rec *DeliveryRecord) FinishedAt() time.Time {
	if !rec.DeliveredAt.IsZero() {
		return rec.DeliveredAt
	}
	if n := len(rec.Attempts); n > 0 {
		return rec.Attempts[n-1].At
	}
	return rec.QueuedAt
}

// MaxAttemptsKept is how many attempts a delivery's record keeps, the newest.
const MaxAttemptsKept = 100

// healthResolution is how fresh Health.LastDeliveredAt is kept: a success within it of the last one
// recorded leaves the subscription's record as it is, so that a busy subscription's deliveries do
// not each rewrite it.
const healthResolution = time.Second

// ApplyAttempt records attempt a in rec (keeping the newest MaxAttemptsKept) with its outcome, and
// accounts it in sub's Health (a dead letter with a reason also disables sub), as both stores'
// RecordAttempts do. It reports whether sub changed and must be written: a success after no failure
// and within healthResolution of the last one recorded leaves it as it was.
func (rec *DeliveryRecord) ApplyAttempt(sub *SubscriptionRecord, a Attempt, outcome Outcome) (subChanged bool) {
	rec.Attempts = append(rec.Attempts, a)
	rec.RoundAttempts++
	if n := len(rec.Attempts); n > MaxAttemptsKept {
		rec.Attempts = rec.Attempts[n-MaxAttemptsKept:]
	}
	rec.Status = outcome.Status
	switch outcome.Status {
	case DeliveryDelivered:
		rec.DeliveredAt = a.At
		rec.NextAttemptAt = time.Time{}
		if sub.Health.ConsecutiveFailures == 0 && a.At.Sub(sub.Health.LastDeliveredAt) < healthResolution {
			return false
		}
		sub.Health.LastDeliveredAt = a.At
		sub.Health.ConsecutiveFailures = 0
	case DeliveryPending:
		rec.NextAttemptAt = outcome.NextAttemptAt.UTC()
		sub.Health.recordFailure(a)
	case DeliveryDead:
		rec.NextAttemptAt = time.Time{}
		sub.Health.recordFailure(a)
		sub.Health.DeadLettered++
		if outcome.DisableReason != "" {
			sub.Status, sub.StatusReason = StatusDisabled, outcome.DisableReason
		}
	}
	return true
}

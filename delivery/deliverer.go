package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Defaults of Options.
const (
	DefaultConcurrency = 16
	DefaultInterval    = time.Second
)

// exhaustedNote ends the Error of the attempt that dead-letters a delivery, for the people who read
// the delivery log; the retry round itself is the store's Delivery.RoundAttempts.
const exhaustedNote = "retries exhausted"

// Store is what the deliverer needs of the outbox; *state.Store is one.
type Store interface {
	// DueDeliveries returns the heads of the active subscriptions' queues that are due at now.
	DueDeliveries(now time.Time, limit int) ([]state.Delivery, error)
	// Subscription returns a subscription, secrets in clear, or state.ErrNotFound.
	Subscription(id string) (state.Subscription, error)
	// RecordAttempt records one attempt and its outcome; state.ErrNotPending when the delivery is
	// already finished.
	RecordAttempt(subID string, seq uint64, a state.Attempt, outcome state.Outcome) error
}

// Options configure a Deliverer. Zero fields take the defaults named.
type Options struct {
	// Store holds the outbox. Required.
	Store Store
	// Client sends the POSTs; nil means webhook.NewCallbackClient(Timeout, AllowPrivateCallbacks).
	Client *http.Client
	// Timeout bounds one attempt (webhook.DefaultDeliveryTimeout); used only to build the default
	// Client.
	Timeout time.Duration
	// AllowPrivateCallbacks lets the default Client dial loopback and private addresses (tests,
	// the demo).
	AllowPrivateCallbacks bool
	// Now is the clock of attempts, retries and webhook-timestamp; nil means time.Now.
	Now func() time.Time
	// Interval is how often Run looks for due retries when nothing nudges it (DefaultInterval).
	Interval time.Duration
	// Concurrency bounds the attempts in flight, across subscriptions (DefaultConcurrency). Within one
	// subscription there is never more than one: its deliveries go out in order.
	Concurrency int
	// Schedule is the delay before each retry; its length is the number of retries
	// (webhook.DefaultRetrySchedule).
	Schedule []time.Duration
	// Jitter spreads a retry delay; nil means webhook.DefaultJitter. Tests pass an identity.
	Jitter func(time.Duration) time.Duration
	// UserAgent of the POSTs (webhook.DefaultUserAgent).
	UserAgent string
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Deliverer drains the outbox: for each subscription, the head of its queue is POSTed to the
// callback URL, signed with the subscription's secret (Standard Webhooks v1, HMAC-SHA256), and the
// outcome recorded: 2xx delivers it; 410 Gone dead-letters it and disables the subscription; any
// other answer (3xx, 4xx, 429, 5xx), a timeout or a connection failure is retried on the schedule,
// no sooner than the receiver's Retry-After, and dead-lettered when the schedule is exhausted.
// The webhook-id is the delivery's id, the same on every attempt, after restarts and on resends.
type Deliverer struct {
	store     Store
	client    *http.Client
	timeout   time.Duration
	now       func() time.Time
	interval  time.Duration
	schedule  []time.Duration
	jitter    func(time.Duration) time.Duration
	userAgent string
	log       *slog.Logger

	slots chan struct{} // one token per attempt in flight
	nudge chan struct{}

	mu       sync.Mutex
	inflight map[string]bool // subscription ids with an attempt in flight
	wg       sync.WaitGroup
}

// New returns a Deliverer. Errors: a missing Store, or a negative Interval, Concurrency or
// Timeout, or a schedule delay ≤ 0.
func New(opts Options) (*Deliverer, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("delivery: a store is required")
	case opts.Interval < 0, opts.Concurrency < 0, opts.Timeout < 0:
		return nil, errors.New("delivery: interval, concurrency and timeout must not be negative")
	}
	for _, d := range opts.Schedule {
		if d <= 0 {
			return nil, fmt.Errorf("delivery: retry delay %s must be positive", d)
		}
	}
	opts = opts.withDefaults()
	return &Deliverer{
		store: opts.Store, client: opts.Client, timeout: opts.Timeout, now: opts.Now,
		interval: opts.Interval, schedule: append([]time.Duration(nil), opts.Schedule...),
		jitter: opts.Jitter, userAgent: opts.UserAgent, log: opts.Logger,
		slots: make(chan struct{}, opts.Concurrency), nudge: make(chan struct{}, 1),
		inflight: map[string]bool{},
	}, nil
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	o.Timeout = cmp.Or(o.Timeout, webhook.DefaultDeliveryTimeout)
	if o.Client == nil {
		o.Client = webhook.NewCallbackClient(o.Timeout, o.AllowPrivateCallbacks)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Interval = cmp.Or(o.Interval, DefaultInterval)
	o.Concurrency = cmp.Or(o.Concurrency, DefaultConcurrency)
	if o.Schedule == nil {
		o.Schedule = webhook.DefaultRetrySchedule
	}
	if o.Jitter == nil {
		o.Jitter = webhook.DefaultJitter
	}
	o.UserAgent = cmp.Or(o.UserAgent, webhook.DefaultUserAgent)
	o.Logger = cmp.Or(o.Logger, slog.Default())
	return o
}

// Nudge asks Run to look for due deliveries now (the poller calls it after a commit). It never
// blocks.
func (d *Deliverer) Nudge() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, waking every Interval and on each Nudge, and then waits for the
// attempts in flight (they are cancelled with ctx and not recorded, so they are retried, with the
// same webhook-id, after a restart). It returns nil.
func (d *Deliverer) Run(ctx context.Context) error {
	ticker := time.NewTicker(d.interval)
	defer ticker.Stop()
	for {
		if _, err := d.dispatch(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("listing due deliveries failed", "err", err)
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return nil
		case <-ticker.C:
		case <-d.nudge:
		}
	}
}

// DeliverDue attempts every delivery due now, head by head, until none is due (a retried delivery
// is due later), and returns how many attempts it recorded. Tests call it instead of Run. Errors:
// the store's.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		before := total
		started, err := d.dispatch(ctx)
		d.wg.Wait()
		total += started
		if err != nil || started == 0 || ctx.Err() != nil {
			return total, err
		}
		if total == before {
			return total, nil
		}
	}
}

// dispatch starts an attempt for each due head whose subscription has none in flight, while slots
// are free, and returns how many it started.
func (d *Deliverer) dispatch(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	due, err := d.store.DueDeliveries(d.now(), 2*cap(d.slots))
	if err != nil {
		return 0, err
	}
	started := 0
	for _, del := range due {
		d.mu.Lock()
		if d.inflight[del.SubscriptionID] {
			d.mu.Unlock()
			continue
		}
		select {
		case d.slots <- struct{}{}:
		default:
			d.mu.Unlock()
			return started, nil // every slot busy; a finishing attempt nudges
		}
		d.inflight[del.SubscriptionID] = true
		d.mu.Unlock()
		started++
		d.wg.Add(1)
		go func(del state.Delivery) {
			defer func() {
				if r := recover(); r != nil {
					d.log.Error("delivery attempt panicked", "subscription", del.SubscriptionID, "delivery", del.ID, "panic", r)
				}
				d.mu.Lock()
				delete(d.inflight, del.SubscriptionID)
				d.mu.Unlock()
				<-d.slots
				d.wg.Done()
				d.Nudge()
			}()
			d.attempt(ctx, del)
		}(del)
	}
	return started, nil
}

// attempt POSTs one delivery and records the outcome.
func (d *Deliverer) attempt(ctx context.Context, del state.Delivery) {
	sub, err := d.store.Subscription(del.SubscriptionID)
	if errors.Is(err, state.ErrNotFound) {
		return // deleted since DueDeliveries
	}
	if err != nil {
		d.log.Error("loading subscription for delivery failed", "subscription", del.SubscriptionID, "err", err)
		return
	}
	if sub.Status != state.StatusActive {
		return
	}
	at := d.now()
	started := time.Now()
	status, header, sendErr := d.post(ctx, sub, del, at)
	if ctx.Err() != nil {
		return // shutting down: not the receiver's failure; the delivery stays due
	}
	a := state.Attempt{At: at, StatusCode: status, Duration: time.Since(started)}
	if sendErr != nil {
		a.Error = d.describe(sendErr)
	}
	outcome := d.outcome(del, &a, sendErr, header, at)
	if err := d.store.RecordAttempt(del.SubscriptionID, del.Seq, a, outcome); err != nil {
		if !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrNotPending) {
			d.log.Error("recording delivery attempt failed", "subscription", del.SubscriptionID, "delivery", del.ID, "err", err)
		}
		return
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
func (d *Deliverer) post(ctx context.Context, sub state.Subscription, del state.Delivery, at time.Time) (int, http.Header, error) {
	req, err := webhook.NewRequest(ctx, sub.CallbackURL, sub.Secret, webhook.Message{
		ID: del.ID, Type: del.Type, SubscriptionID: del.SubscriptionID, CatchUpNote: del.CatchUpNote, Payload: del.Payload,
	}, at, d.userAgent)
	if err != nil {
		return 0, nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
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

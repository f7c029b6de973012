package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Defaults of Options.
const (
	DefaultConcurrency     = 64
	DefaultPerSubscription = 8
	DefaultPerEndpoint     = 32
	DefaultInterval        = time.Second
	DefaultCircuitFailures = 10
	DefaultDisableAfter    = 5 * 24 * time.Hour
)

// exhaustedNote ends the Error of the attempt that dead-letters a delivery, for the people who read
// the delivery log; the retry round itself is the store's Delivery.RoundAttempts.
const exhaustedNote = "retries exhausted"

// Store is what the deliverer needs of the outbox; *bolt.Store is one.
type Store interface {
	// PickDue returns the deliveries of active subscriptions due at now, at most limit, as picker
	// chooses (state.Picker): a subscription it refuses costs the listing nothing more of it, and
	// it is asked of deliveries only of active subscriptions (held counts what it takes against
	// its bounds).
	PickDue(now time.Time, limit int, picker state.Picker) ([]state.Delivery, error)
	// Subscription returns a subscription, secrets in clear, or state.ErrNotFound.
	Subscription(id string) (state.Subscription, error)
	// RecordAttempts records attempts and their outcomes in one transaction, an error per record
	// (state.ErrNotPending when the delivery is already finished).
	RecordAttempts(records []state.AttemptRecord) []error
	// Endpoint returns the stored circuit state of an endpoint.
	Endpoint(key string) (state.Endpoint, bool, error)
	// DisableEndpoint disables every subscription of an endpoint that failed for too long.
	DisableEndpoint(key, reason string) (int, error)
	// Stats counts what the outbox holds, for the metrics.
	Stats() (state.PendingStats, error)
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
	// Concurrency bounds the attempts in flight in all (DefaultConcurrency).
	Concurrency int
	// PerSubscription bounds the attempts in flight of one best-effort subscription
	// (DefaultPerSubscription); a FIFO subscription has at most one.
	PerSubscription int
	// PerEndpoint bounds the attempts in flight to one callback endpoint, scheme + host + port
	// (DefaultPerEndpoint).
	PerEndpoint int
	// SlowAfter is how long an attempt may wait for its answer before its endpoint counts as slow
	// (DefaultSlowAfter): its attempts then move to the slow pool (slow.go).
	SlowAfter time.Duration
	// SlowInFlight bounds the attempts in flight to slow endpoints, all of them together (default
	// Concurrency), so that endpoints that hang can never hold the slots others need.
	SlowInFlight int
	// PerConnectionUnproven bounds the attempts one connection may have in flight to endpoints not
	// known to answer quickly (that have not answered within SlowAfter yet, or are slow), its
	// attempts that stalled included (unproven.go). It must be smaller than Concurrency and
	// SlowInFlight (default an eighth of the smaller, at least 1), so that one connection's hanging
	// callback URLs, however many, hold neither the slots nor the slow pool that others need.
	PerConnectionUnproven int
	// EndpointRate bounds the deliveries per second to one endpoint (-callback-rate); 0 means no
	// bound. A subscription's own maxPerSecond applies as well. A throttled delivery waits: it is
	// never failed and never counted as an attempt.
	EndpointRate float64
	// CircuitFailures is how many consecutive failed attempts open an endpoint's circuit
	// (DefaultCircuitFailures): its deliveries are then held, and one probe goes out per backoff
	// step until one succeeds.
	CircuitFailures int
	// DisableAfter disables the subscriptions of an endpoint that has failed without a success for
	// this long (DefaultDisableAfter, Svix's 5 days).
	DisableAfter time.Duration
	// Schedule is the delay before each retry; its length is the number of retries
	// (webhook.DefaultRetrySchedule).
	Schedule []time.Duration
	// Jitter spreads a retry delay; nil means webhook.DefaultJitter. Tests pass an identity.
	Jitter func(time.Duration) time.Duration
	// UserAgent of the POSTs (webhook.DefaultUserAgent).
	UserAgent string
	// Owns, when set, tells whether this replica owns a subscription's deliveries when several
	// replicas share the outbox (serve -etcd-endpoints): dispatch passes over the others, so each
	// delivery is attempted by one replica at a time. Nil: every delivery is this process's.
	Owns func(subscriptionID string) bool
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, when set, receives the delivery metrics.
	Registerer prometheus.Registerer
}

// Deliverer drains the outbox. Each due delivery is POSTed to its subscription's callback URL,
// signed (Standard Webhooks v1, HMAC-SHA256, under every secret of a rotation's overlap), and the
// outcome recorded: 2xx delivers it; 410 Gone dead-letters it and disables the subscription; any
// other answer (3xx, 4xx, 429, 5xx), a timeout or a connection failure is retried on the schedule,
// no sooner than the receiver's Retry-After, and dead-lettered when the schedule is exhausted.
//
// Best-effort subscriptions (the default) have each delivery retried on its own, so a failing one
// never delays the others; FIFO subscriptions send one at a time, in order. Attempts in flight are
// bounded in all, per subscription, per endpoint and, to endpoints not known to answer quickly, per
// connection; deliveries per second are bounded per endpoint and per subscription; an endpoint
// that keeps failing opens a circuit that holds its deliveries while one probe at a time tests it.
// The webhook-id is the delivery's id, the same on every attempt, after restarts and on resends.
type Deliverer struct {
	store           Store
	client          *http.Client
	timeout         time.Duration
	now             func() time.Time
	interval        time.Duration
	concurrency     int
	perSubscription int
	perEndpoint     int
	slowAfter       time.Duration
	slowMax         int
	perConnection   int // PerConnectionUnproven
	endpointRate    float64
	circuitFailures int
	disableAfter    time.Duration
	schedule        []time.Duration
	jitter          func(time.Duration) time.Duration
	userAgent       string
	owns            func(subscriptionID string) bool
	log             *slog.Logger
	metrics         *metrics

	nudge chan struct{}
	wg    sync.WaitGroup

	mu           sync.Mutex
	inflight     map[deliveryKey]bool   // started and not yet recorded
	posting      int                    // POSTs in normal slots (bounded by concurrency; slow.go)
	slowInFlight int                    // POSTs in the slow pool (bounded by slowMax)
	unproven     map[string]int         // connection → its attempts counted by unprovenBound (unproven.go)
	recent       map[deliveryKey]uint64 // recorded attempts → the snapshot count when they were recorded
	snapshots    uint64                 // DueDeliveries reads started
	subs         map[string]*subscriptionState
	endpoints    map[string]*endpointState
	wakeAt       time.Time // the earliest moment a throttled delivery may go

	// The gates a due delivery passes before its attempt starts (gates.go): dispatch asks gates;
	// the listing's picker (held) asks ownership and then subscriptionGates of a subscription, and
	// ownership and then listingGates of each of its deliveries.
	gates             []gate
	listingGates      []orderedGate
	subscriptionGates []orderedGate
	ownership         gate

	// blocked: the endpoints whose bounds alone held what the last listing found due (blocked.go);
	// outside: Nudge was called since the last listing, which then goes ahead whatever.
	blocked map[string]bool
	outside atomic.Bool

	// Group commit (groupcommit.go): finished attempts wait in toRecord; the goroutine that finds
	// no commit running commits them all in one store transaction, and goes on while more arrived
	// meanwhile. While it waits for a batch to fill, batchWanted is the size that wakes it, on
	// batchFull.
	recordMu    sync.Mutex
	toRecord    []finishedAttempt
	recording   bool
	batchWanted int
	batchFull   chan struct{}
}

// deliveryKey names one delivery.
type deliveryKey struct {
	sub string
	seq uint64
}

// New returns a Deliverer. Errors: a missing Store, a negative bound, rate or timeout, a
// PerConnectionUnproven not smaller than Concurrency or SlowInFlight, a retry delay ≤ 0, or a
// Registerer that holds the delivery metrics already.
func New(opts Options) (*Deliverer, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("delivery: a store is required")
	case opts.Interval < 0, opts.Concurrency < 0, opts.Timeout < 0, opts.PerSubscription < 0, opts.PerEndpoint < 0,
		opts.CircuitFailures < 0, opts.DisableAfter < 0, opts.SlowAfter < 0, opts.SlowInFlight < 0,
		opts.PerConnectionUnproven < 0:
		return nil, errors.New("delivery: interval, bounds, circuit failures and timeouts must not be negative")
	case opts.EndpointRate < 0:
		return nil, fmt.Errorf("delivery: endpoint rate %v must not be negative", opts.EndpointRate)
	}
	for _, d := range opts.Schedule {
		if d <= 0 {
			return nil, fmt.Errorf("delivery: retry delay %s must be positive", d)
		}
	}
	opts = opts.withDefaults()
	if whole := min(opts.Concurrency, opts.SlowInFlight); opts.PerConnectionUnproven >= whole && whole > 1 {
		return nil, fmt.Errorf("delivery: PerConnectionUnproven %d must be smaller than Concurrency (%d) and SlowInFlight (%d)",
			opts.PerConnectionUnproven, opts.Concurrency, opts.SlowInFlight)
	}
	m, err := newMetrics(opts.Registerer, opts.Store)
	if err != nil {
		return nil, err
	}
	d := &Deliverer{
		store: opts.Store, client: opts.Client, timeout: opts.Timeout, now: opts.Now,
		interval: opts.Interval, concurrency: opts.Concurrency, perSubscription: opts.PerSubscription,
		perEndpoint: opts.PerEndpoint, slowAfter: opts.SlowAfter, slowMax: opts.SlowInFlight,
		perConnection: opts.PerConnectionUnproven, endpointRate: opts.EndpointRate, circuitFailures: opts.CircuitFailures,
		disableAfter: opts.DisableAfter, schedule: append([]time.Duration(nil), opts.Schedule...),
		jitter: opts.Jitter, userAgent: opts.UserAgent, owns: opts.Owns, log: opts.Logger, metrics: m,
		nudge: make(chan struct{}, 1), batchFull: make(chan struct{}, 1),
		inflight: map[deliveryKey]bool{}, recent: map[deliveryKey]uint64{},
		subs: map[string]*subscriptionState{}, endpoints: map[string]*endpointState{}, unproven: map[string]int{},
	}
	m.openEndpoints = d.openEndpoints
	m.slow = d.slowEndpoints
	d.setGates()
	return d, nil
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
	o.PerSubscription = cmp.Or(o.PerSubscription, DefaultPerSubscription)
	o.PerEndpoint = cmp.Or(o.PerEndpoint, DefaultPerEndpoint)
	o.SlowAfter = cmp.Or(o.SlowAfter, DefaultSlowAfter)
	o.SlowInFlight = cmp.Or(o.SlowInFlight, o.Concurrency)
	o.PerConnectionUnproven = cmp.Or(o.PerConnectionUnproven, max(1, min(o.Concurrency, o.SlowInFlight)/unprovenShareDivisor))
	o.CircuitFailures = cmp.Or(o.CircuitFailures, DefaultCircuitFailures)
	o.DisableAfter = cmp.Or(o.DisableAfter, DefaultDisableAfter)
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

// Nudge asks Run to look for due deliveries now (the poller calls it after a commit, the API after
// a change). It never blocks.
func (d *Deliverer) Nudge() {
	d.outside.Store(true)
	d.wake()
}

// Run delivers until ctx ends, waking every Interval, on each Nudge and when a throttled delivery
// may go, and then waits for the attempts in flight (they are cancelled with ctx and not recorded,
// so they are retried, with the same webhook-id, after a restart). It returns nil.
func (d *Deliverer) Run(ctx context.Context) error {
	ticker := time.NewTicker(d.interval)
	defer ticker.Stop()
	throttle := time.NewTimer(time.Hour)
	defer throttle.Stop()
	force := true // whatever the last listing found (blocked.go)
	for {
		if _, err := d.dispatch(ctx, force); err != nil && ctx.Err() == nil {
			d.log.Error("listing due deliveries failed", "err", err)
		}
		if wait, ok := d.throttleWait(); ok {
			throttle.Reset(wait)
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			// Connections dialed for attempts that were cancelled sit unused in the pool; a
			// receiver shutting down would wait for them, so they go too.
			d.client.CloseIdleConnections()
			return nil
		case <-ticker.C:
			force = true
		case <-d.nudge:
			force = d.outside.Swap(false)
		case <-throttle.C:
			force = true
		}
	}
}

// throttleWait is how long until the earliest throttled delivery may go, if one waits.
func (d *Deliverer) throttleWait() (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.wakeAt.IsZero() {
		return 0, false
	}
	wait := time.Until(d.wakeAt)
	d.wakeAt = time.Time{}
	return max(wait, time.Millisecond), true
}

// DeliverDue attempts every delivery due now until none is left to start (a retried delivery is
// due later; a held or throttled one waits), and returns how many attempts it started. Tests call
// it instead of Run. Errors: the store's.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		started, err := d.dispatch(ctx, true)
		d.wg.Wait()
		total += started
		if err != nil || started == 0 || ctx.Err() != nil {
			return total, err
		}
	}
}

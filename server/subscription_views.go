package server

import (
	"encoding/json"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// Subscription is a subscription as the API shows it (definition Subscription). Secret is set only
// in the answer that creates it; token and secret are never shown again.
type Subscription struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Room is the room as given when subscribing (an id or a name); RoomID and RoomName are
	// HipChat's id and name of it, as every delivery carries them. All three are absent for room
	// subscriptions; RoomID and RoomName are absent too for a subscription stored before rooms were
	// resolved, until the poller's first read of its feed after the upgrade resolves it.
	Room         string          `json:"room,omitempty"`
	RoomID       int             `json:"room_id,omitempty"`
	RoomName     string          `json:"room_name,omitempty"`
	CallbackURL  string          `json:"callback_url"`
	Status       state.Status    `json:"status"`
	StatusReason string          `json:"status_reason,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	Location     string          `json:"location"`
	Secret       string          `json:"secret,omitempty"`
	Cursor       json.RawMessage `json:"cursor,omitempty"`
	Health       *Health         `json:"health,omitempty"`
	// Ordering is best_effort or fifo; MaxPerSecond its own throttle (0: none).
	Ordering     string  `json:"ordering"`
	MaxPerSecond float64 `json:"max_per_second"`
	// PreviousSecretExpiresAt is set after rotate-secret while the old secret still signs.
	PreviousSecretExpiresAt time.Time `json:"previous_secret_expires_at,omitzero"`
	// Endpoint is the callback endpoint's circuit breaker.
	Endpoint *CallbackEndpoint `json:"endpoint,omitempty"`
	// Poll is how the poller reads the feeds of the subscription's token (absent before its first
	// tick).
	Poll *PollPlan `json:"poll,omitempty"`
	// Push is whether HipChat's room webhooks ring for the subscription's room (absent for room
	// lists and when push is off altogether).
	Push *PushView `json:"push,omitempty"`
	// Backlog is its pending deliveries beside the outbox's bound (absent when they cannot be
	// counted).
	Backlog *Backlog `json:"backlog,omitempty"`
	// Filter is what the subscription keeps of its room's messages (absent: everything).
	Filter *FilterView `json:"filter,omitempty"`
}

// Backlog is a subscription's pending deliveries beside the bound of the bounded outbox: held when
// they reached it, and then its cursor waits (nothing is dropped: HipChat keeps the history) until
// they drain below it.
type Backlog struct {
	Pending    int  `json:"pending"`
	Held       bool `json:"held"`
	MaxPending int  `json:"max_pending,omitempty"`
}

// FilterView is a subscription's filter (definition SubscriptionFilter): every part given must hold.
type FilterView struct {
	// Mentions keeps messages that mention this user; IncludeAtAll says whether @all and @here count.
	Mentions     *FilterUser `json:"mentions,omitempty"`
	IncludeAtAll *bool       `json:"include_at_all,omitempty"`
	Keywords     []string    `json:"keywords,omitempty"`
	Pattern      string      `json:"pattern,omitempty"`
	// From keeps messages of this user; FromLabel, notifications sent under this label.
	From      *FilterUser `json:"from,omitempty"`
	FromLabel string      `json:"from_label,omitempty"`
	// Include is messages, notifications or both.
	Include string `json:"include"`
}

// FilterUser is a user a filter names: as given (me, an id, an email, an @mention) and who it is.
type FilterUser struct {
	Given       string `json:"user"`
	ID          int    `json:"id"`
	MentionName string `json:"mention_name,omitempty"`
}

// showFilter renders a subscription's filter; nil when it keeps everything.
func showFilter(f triggers.FilterSpec) *FilterView {
	if f.IsZero() {
		return nil
	}
	view := &FilterView{Keywords: f.Keywords, Pattern: f.Pattern, FromLabel: f.FromLabel, Include: string(triggers.IncludeBoth)}
	if f.Include != "" {
		view.Include = string(f.Include)
	}
	if f.Mentions != nil {
		includeAtAll := !f.SkipAtAll
		view.Mentions = &FilterUser{Given: f.Mentions.Given, ID: f.Mentions.ID, MentionName: f.Mentions.MentionName}
		view.IncludeAtAll = &includeAtAll
	}
	if f.From != nil {
		view.From = &FilterUser{Given: f.From.Given, ID: f.From.ID, MentionName: f.From.MentionName}
	}
	return view
}

// PushView is the push state of a subscription's feed: pending (registering), on (registered,
// polled until its doorbells prove themselves), trusted (read on doorbells; polled only to
// reconcile) or off (plain polling; reason says why, e.g. the token lacks admin_room).
type PushView struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// PollPlan is how the poller reads the feeds (rooms, and the room list) of one token: within its
// budgets — the connector's and HipChat's own — as many per tick as they allow, least recently read
// first. When the token watches more rooms than that keeps current, over_budget is true and
// expected_lag_seconds says how long a new event may wait before it is seen.
type PollPlan struct {
	Feeds              int     `json:"feeds"`
	ReadsPerTick       int     `json:"reads_per_tick"`
	ExpectedLagSeconds float64 `json:"expected_lag_seconds"`
	OverBudget         bool    `json:"over_budget"`
	HipChatLimit       int     `json:"hipchat_limit,omitempty"` // HipChat's calls per 5 minutes, as last seen
}

// CallbackEndpoint is the delivery state of a subscription's callback endpoint (its callback URL,
// keyed by webhook.EndpointOf), shared by every subscription that delivers to the same URL.
type CallbackEndpoint struct {
	Key                 string    `json:"key"`
	State               string    `json:"state"` // closed (deliveries flow) or open (held; probed)
	ConsecutiveFailures int       `json:"consecutive_failures"`
	OpenedAt            time.Time `json:"opened_at,omitzero"`
	NextProbeAt         time.Time `json:"next_probe_at,omitzero"`
	FailingSince        time.Time `json:"failing_since,omitzero"`
	LastFailureAt       time.Time `json:"last_failure_at,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	LastSuccessAt       time.Time `json:"last_success_at,omitzero"`
}

// Health is how delivery to a subscription's callback is going.
type Health struct {
	LastDeliveredAt     time.Time `json:"last_delivered_at,omitzero"`
	LastFailureAt       time.Time `json:"last_failure_at,omitzero"`
	LastFailure         string    `json:"last_failure,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	DeadLettered        int       `json:"dead_lettered"`
}

// SubscriptionList is the answer of ListSubscriptions.
type SubscriptionList struct {
	Items []Subscription `json:"items"`
}

// Delivery is one event for one subscription, with its attempts (definition Delivery).
type Delivery struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	EventID        string          `json:"event_id"`
	Type           string          `json:"type"`
	Status         string          `json:"status"`
	CreatedAt      time.Time       `json:"created_at"`
	NextAttemptAt  time.Time       `json:"next_attempt_at,omitzero"`
	DeliveredAt    time.Time       `json:"delivered_at,omitzero"`
	Attempts       []Attempt       `json:"attempts"`
	CatchUpNote    string          `json:"catch_up_note,omitempty"`
	Payload        json.RawMessage `json:"payload,omitempty"`
}

// Attempt is one POST of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// DeliveryList is the answer of ListDeliveries, newest first.
type DeliveryList struct {
	Items []Delivery `json:"items"`
}

// showSubscription renders sub with its cursor, health and endpoint (lists show them too:
// operators scan a list for failing subscriptions), never its token or secret.
func (d subscriptionAPI) showSubscription(sub state.Subscription) Subscription {
	view := Subscription{
		ID: sub.ID, Kind: string(sub.Kind), Room: sub.RoomID, RoomID: sub.Room.ID, RoomName: sub.Room.Name,
		CallbackURL: sub.CallbackURL,
		Status:      sub.Status, StatusReason: sub.StatusReason, CreatedAt: sub.CreatedAt.UTC(),
		Location: d.location(sub.ID), Ordering: string(sub.Ordering.OrDefault()), MaxPerSecond: sub.MaxPerSecond,
		Endpoint: d.showEndpoint(sub.CallbackURL), Filter: showFilter(sub.Filter),
		Health: &Health{
			LastDeliveredAt: sub.Health.LastDeliveredAt.UTC(), LastFailureAt: sub.Health.LastFailureAt.UTC(),
			LastFailure: sub.Health.LastFailure, ConsecutiveFailures: sub.Health.ConsecutiveFailures,
			DeadLettered: sub.Health.DeadLettered,
		},
	}
	if json.Valid(sub.Cursor) {
		view.Cursor = json.RawMessage(sub.Cursor)
	}
	if d.pushStatus != nil && sub.Kind.Room() {
		if state, reason, ok := d.pushStatus(sub.ConnectionID, sub.RoomID); ok {
			view.Push = &PushView{State: state, Reason: reason}
		}
	}
	if d.pollPlan != nil {
		if plan, ok := d.pollPlan(sub.ConnectionID); ok {
			view.Poll = &plan
		}
	}
	view.Backlog = d.showBacklog(sub.ID)
	if sub.PreviousSecret != "" && d.now().Before(sub.PreviousSecretExpiresAt) {
		view.PreviousSecretExpiresAt = sub.PreviousSecretExpiresAt.UTC()
	}
	return view
}

// showBacklog renders the pending deliveries of subscription id; a failing count shows nothing (the
// rest of the view still answers).
func (d subscriptionAPI) showBacklog(id string) *Backlog {
	n, err := d.store.PendingCount(id)
	if err != nil {
		d.log.Warn("counting a subscription's pending deliveries failed", "err", err)
		return nil
	}
	return &Backlog{Pending: n, Held: d.atBound(n), MaxPending: d.maxPending}
}

// atBound reports whether pending deliveries are at the bounded outbox's bound (never without one).
func (d subscriptionAPI) atBound(pending int) bool {
	return d.maxPending > 0 && pending >= d.maxPending
}

// showEndpoint renders the circuit state of callbackURL's endpoint; one that never failed is
// closed. A failing read of it shows nothing (the rest of the view still answers).
func (d subscriptionAPI) showEndpoint(callbackURL string) *CallbackEndpoint {
	key := webhook.EndpointOf(callbackURL)
	ep, _, err := d.store.Endpoint(key)
	if err != nil {
		d.log.Warn("reading an endpoint's circuit failed", "err", err)
		return nil
	}
	view := &CallbackEndpoint{
		Key: key, State: "closed", ConsecutiveFailures: ep.ConsecutiveFailures, FailingSince: ep.FailingSince.UTC(),
		LastFailureAt: ep.LastFailureAt.UTC(), LastError: ep.LastError, LastSuccessAt: ep.LastSuccessAt.UTC(),
	}
	if ep.Open() {
		view.State, view.OpenedAt, view.NextProbeAt = "open", ep.OpenedAt.UTC(), ep.NextProbeAt.UTC()
	}
	return view
}

func showDelivery(dl state.Delivery) Delivery {
	view := Delivery{
		ID: dl.ID, SubscriptionID: dl.SubscriptionID, EventID: dl.EventID, Type: dl.Type,
		Status: dl.Status, CreatedAt: dl.CreatedAt.UTC(), DeliveredAt: dl.DeliveredAt.UTC(),
		CatchUpNote: dl.CatchUpNote, Attempts: make([]Attempt, len(dl.Attempts)),
	}
	if dl.Status == state.DeliveryPending {
		view.NextAttemptAt = dl.NextAttemptAt.UTC()
	}
	if json.Valid(dl.Payload) {
		view.Payload = json.RawMessage(dl.Payload)
	}
	for i, a := range dl.Attempts {
		view.Attempts[i] = Attempt{At: a.At.UTC(), StatusCode: a.StatusCode, Error: a.Error, DurationMS: a.Duration.Milliseconds()}
	}
	return view
}

package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// webhookTrigger is one of the three webhook triggers the demo subscribes its sink to.
type webhookTrigger struct {
	kind        string // last segment of the sink's callback path: /callbacks/{kind}
	operationID string
	subscribe   string // path of the subscribe operation; %s is the room
}

var webhookTriggers = []webhookTrigger{
	{kind: "message", operationID: "OnNewMessageWebhook", subscribe: "/subscriptions/rooms/%s/messages"},
	{kind: "file", operationID: "OnNewFileWebhook", subscribe: "/subscriptions/rooms/%s/files"},
	{kind: "room", operationID: "OnNewRoomWebhook", subscribe: "/subscriptions/rooms"},
}

// callbackPath is where the sink takes the deliveries of trigger t.
func (t webhookTrigger) callbackPath() string { return "/callbacks/" + t.kind }

// callbackSink receives the connector's deliveries, one path per trigger, verifies each signature
// with that subscription's secret (Standard Webhooks), prints it and counts it.
type callbackSink struct {
	out io.Writer

	mu        sync.Mutex
	verifiers map[string]*standardwebhooks.Webhook // by trigger kind
	roomNames map[string]string                    // room id → name, for the printed lines
	seen      map[string]bool                      // webhook-id of every delivery taken
	delivered map[string]int                       // by operationId
	failed    int                                  // deliveries whose signature did not verify
}

// newCallbackSink returns a sink that prints to out and takes no delivery until expect is called.
func newCallbackSink(out io.Writer) *callbackSink {
	return &callbackSink{
		out: out, verifiers: map[string]*standardwebhooks.Webhook{}, roomNames: map[string]string{},
		seen: map[string]bool{}, delivered: map[string]int{},
	}
}

// expect makes the sink take the deliveries of trigger t, signed with secret (the subscription's,
// shown once when it was created). Errors: a secret that is not a Standard Webhooks secret.
func (s *callbackSink) expect(t webhookTrigger, secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return fmt.Errorf("%s: the subscription's secret: %w", t.operationID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verifiers[t.kind] = wh
	return nil
}

// nameRoom tells the sink a room's name, so that lines show it rather than the id.
func (s *callbackSink) nameRoom(id int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roomNames[fmt.Sprint(id)] = name
}

// ServeHTTP takes one delivery: 204 when its signature verifies (also for a repeat of a delivery
// already taken), 401 when it does not, 503 before the trigger's secret is known (the connector
// retries), 404 for an unknown path.
func (s *callbackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	trigger, ok := triggerOfPath(r.URL.Path)
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wh := s.verifiers[trigger.kind]
	if wh == nil {
		http.Error(w, "not subscribed yet", http.StatusServiceUnavailable)
		return
	}
	stamp := time.Now().Format(time.TimeOnly)
	if err := wh.Verify(body, r.Header); err != nil {
		s.failed++
		fmt.Fprintf(s.out, "%s  %-19s  signature FAILED: %v\n", stamp, trigger.operationID, err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	if s.seen[id] {
		w.WriteHeader(http.StatusNoContent) // a retry of a delivery whose answer got lost
		return
	}
	s.seen[id] = true
	s.delivered[trigger.operationID]++
	room, what := s.describe(trigger, body)
	fmt.Fprintf(s.out, "%s  %-19s  %-12s  %s  signature ok%s\n", stamp, trigger.operationID, room, what, latency(body))
	w.WriteHeader(http.StatusNoContent)
}

// triggerOfPath returns the trigger whose callback path is path.
func triggerOfPath(path string) (webhookTrigger, bool) {
	for _, t := range webhookTriggers {
		if path == t.callbackPath() {
			return t, true
		}
	}
	return webhookTrigger{}, false
}

// deliveredMessage holds the fields the sink prints of a history item (messages and files).
type deliveredMessage struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	From    struct {
		Name string `json:"name"`
	} `json:"from"`
	File *struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	} `json:"file"`
	// RoomID is HipChat's id of the room (a string in deliveries queued before rooms were resolved);
	// RoomName its name.
	RoomID   json.RawMessage `json:"room_id"`
	RoomName string          `json:"room_name"`
}

// deliveredRoom holds the fields the sink prints of a room.
type deliveredRoom struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Privacy string `json:"privacy"`
}

// describe returns the room column and the rest of a delivery's line. Callers hold s.mu.
func (s *callbackSink) describe(t webhookTrigger, body []byte) (room, what string) {
	if t.kind == "room" {
		var r deliveredRoom
		if err := json.Unmarshal(body, &r); err != nil {
			return "?", fmt.Sprintf("unreadable room: %v", err)
		}
		s.roomNames[fmt.Sprint(r.ID)] = r.Name
		return r.Name, fmt.Sprintf("new %s room, id %d", r.Privacy, r.ID)
	}
	var m deliveredMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "?", fmt.Sprintf("unreadable message: %v", err)
	}
	id := strings.Trim(string(m.RoomID), `"`)
	room = m.RoomName
	if room == "" {
		room = s.roomNames[id]
	}
	if room == "" {
		room = "room " + id
	}
	author := m.From.Name
	if m.Type == "notification" {
		author += " (notification)"
	}
	if m.File != nil {
		return room, fmt.Sprintf("%s shared %s (%d bytes): %q", author, m.File.Name, m.File.Size, shorten(m.Message, 40))
	}
	return room, fmt.Sprintf("%s: %q", author, shorten(m.Message, 60))
}

// latency says how long after it happened in HipChat a message reached the sink (" 0.3s after it
// was posted"); "" for rooms, which carry no date.
func latency(body []byte) string {
	var item struct {
		Date string `json:"date"`
	}
	if json.Unmarshal(body, &item) != nil || item.Date == "" {
		return ""
	}
	at, err := time.Parse(time.RFC3339Nano, item.Date)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(", %.1fs after it was posted", time.Since(at).Seconds())
}

// shorten cuts s to at most n characters, marking a cut with an ellipsis.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// deliveryTally counts the deliveries the sink took, by trigger, and the failed verifications.
type deliveryTally struct {
	delivered map[string]int
	failed    int
}

// summary returns what the sink has taken so far.
func (s *callbackSink) summary() deliveryTally {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := deliveryTally{delivered: map[string]int{}, failed: s.failed}
	for op, n := range s.delivered {
		t.delivered[op] = n
	}
	return t
}

// missing lists the triggers with no delivery.
func (t deliveryTally) missing() []string {
	var ops []string
	for _, trigger := range webhookTriggers {
		if t.delivered[trigger.operationID] == 0 {
			ops = append(ops, trigger.operationID)
		}
	}
	return ops
}

// String reads "9 deliveries (OnNewMessageWebhook 6, OnNewFileWebhook 2, OnNewRoomWebhook 1), every
// signature verified".
func (t deliveryTally) String() string {
	total := 0
	parts := make([]string, len(webhookTriggers))
	for i, trigger := range webhookTriggers {
		n := t.delivered[trigger.operationID]
		total += n
		parts[i] = fmt.Sprintf("%s %d", trigger.operationID, n)
	}
	verdict := "every signature verified"
	if t.failed > 0 {
		verdict = fmt.Sprintf("%d signatures FAILED", t.failed)
	}
	return fmt.Sprintf("%d deliveries (%s), %s", total, strings.Join(parts, ", "), verdict)
}

package hipchatsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Room webhooks are called as HipChat called them: best effort. Each event is one POST with a short
// timeout, made by a small pool of workers so that the request that caused the event never waits for
// it; a full queue, an injected drop, a refused address or a failing receiver lose the call, and
// GET /_sim/webhooks says so.
const (
	webhookTimeout  = 5 * time.Second // per call, as HipChat's were short
	webhookWorkers  = 8               // concurrent calls at most
	webhookQueue    = 1024            // calls waiting for a worker; beyond it they are dropped
	webhookLogSize  = 512             // calls that GET /_sim/webhooks remembers
	webhookMaxReply = 64 << 10        // bytes of a receiver's answer that are read
	webhookJWTLife  = 5 * time.Minute // exp - iat of the JWT a jwt webhook is called with
)

// webhookJob is one call to make: where, what, and how to sign it.
type webhookJob struct {
	hook    *webhook
	room    *room
	event   string
	payload []byte
	base    string    // scheme and host the causing request came to, for a notification reply
	sender  string    // user id of who caused the event, the JWT's sub; "" for none
	at      time.Time // when the event happened, on the emulator's clock
}

// webhookCall is one entry of GET /_sim/webhooks.
type webhookCall struct {
	Seq       uint64  `json:"seq"`
	At        string  `json:"at"` // when the event happened, on the emulator's clock (RFC 3339)
	Event     string  `json:"event"`
	URL       string  `json:"url"`
	WebhookID int     `json:"webhook_id"`
	RoomID    int     `json:"room_id"`
	Status    int     `json:"status"` // the receiver's HTTP status; 0 when there was no answer
	LatencyMS float64 `json:"latency_ms"`
	Dropped   bool    `json:"dropped"`         // not made: webhook_drop_rate, or a full queue
	Error     string  `json:"error,omitempty"` // why there is no status, or why the reply was ignored
}

// webhookFault is the webhook part of POST /_sim/faults.
type webhookFault struct {
	dropRate float64
	delay    time.Duration
}

// dispatcher makes the webhook calls and remembers the last webhookLogSize of them.
type dispatcher struct {
	s      *Server
	client *http.Client
	ctx    context.Context // ends with Server.Close
	queue  chan webhookJob
	busy   atomic.Int32 // running workers
	fault  atomic.Pointer[webhookFault]

	randMu sync.Mutex
	rand   *rand.Rand

	logMu sync.Mutex
	log   []webhookCall // ring of webhookLogSize
	next  uint64        // sequence number of the next entry
}

func newDispatcher(s *Server, ctx context.Context, seed uint64) *dispatcher {
	if seed == 0 {
		seed = rand.Uint64() // #nosec G404 -- the emulator's drop-rate dice: a test fixture, not a secret
	}
	dialer := &net.Dialer{Timeout: webhookTimeout, Control: guardDial}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   webhookTimeout,
		ResponseHeaderTimeout: webhookTimeout,
		MaxIdleConnsPerHost:   webhookWorkers,
		IdleConnTimeout:       30 * time.Second,
	}
	return &dispatcher{
		s:   s,
		ctx: ctx,
		client: &http.Client{Transport: transport, Timeout: webhookTimeout,
			// One attempt at the registered URL: a redirect is the receiver's answer, not a new target.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		queue: make(chan webhookJob, webhookQueue),
		rand:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), // #nosec G404 -- seeded on purpose so a test can replay which calls drop
	}
}

// errGuard is the outbound guard's refusal; the dial error wraps it.
var errGuard = errors.New("refused by the emulator's outbound guard (link-local, multicast and unspecified addresses are never called)")

// guardDial refuses connections to addresses a sandbox has no business calling: link-local
// (169.254.0.0/16, fe80::/10, where cloud metadata services live), multicast and unspecified ones.
// Loopback and private addresses are allowed: the emulator is a local sandbox and its receivers are
// local too. It runs after name resolution, so a host name cannot smuggle a refused address in.
func guardDial(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return errGuard
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || refusedAddr(ip) {
		return errGuard
	}
	return nil
}

// refusedAddr reports whether the outbound guard refuses ip.
func refusedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified()
}

// setFault installs the webhook fault (nil: none).
func (d *dispatcher) setFault(f *webhookFault) { d.fault.Store(f) }

// enqueue hands a call to the workers without blocking: an injected drop or a full queue records it
// as dropped instead.
func (d *dispatcher) enqueue(j webhookJob) {
	entry := j.entry()
	if f := d.fault.Load(); f != nil && f.dropRate > 0 && d.chance(f.dropRate) {
		entry.Dropped = true
		d.record(entry)
		return
	}
	select {
	case d.queue <- j:
	default:
		entry.Dropped, entry.Error = true, "queue full"
		d.record(entry)
		return
	}
	if d.busy.Add(1) <= webhookWorkers {
		go d.work()
	} else {
		d.busy.Add(-1) // enough workers run; one of them takes the job
	}
}

func (d *dispatcher) chance(rate float64) bool {
	if rate >= 1 {
		return true
	}
	d.randMu.Lock()
	defer d.randMu.Unlock()
	return d.rand.Float64() < rate
}

// work makes calls until the queue is empty.
func (d *dispatcher) work() {
	for {
		select {
		case j := <-d.queue:
			d.call(j)
			continue
		default:
		}
		d.busy.Add(-1)
		// A job queued while every worker was leaving would wait for the next event: the last
		// worker out takes it instead.
		if len(d.queue) == 0 {
			return
		}
		if d.busy.Add(1) > webhookWorkers {
			d.busy.Add(-1)
			return
		}
	}
}

// entry is the log entry of a job before it is made.
func (j webhookJob) entry() webhookCall {
	return webhookCall{At: j.at.UTC().Format(time.RFC3339Nano), Event: j.event, URL: j.hook.url,
		WebhookID: j.hook.id, RoomID: j.room.id}
}

// call makes one webhook call and records it; a room_message receiver's notification answer is
// posted to the room.
func (d *dispatcher) call(j webhookJob) {
	entry := j.entry()
	if f := d.fault.Load(); f != nil && f.delay > 0 {
		t := time.NewTimer(f.delay)
		select {
		case <-t.C:
		case <-d.ctx.Done():
		}
		t.Stop()
	}
	ctx, cancel := context.WithTimeout(d.ctx, webhookTimeout)
	defer cancel()
	req, err := d.request(ctx, j)
	if err != nil {
		entry.Error = err.Error()
		d.record(entry)
		return
	}
	started := time.Now()
	resp, err := d.client.Do(req)
	entry.LatencyMS = float64(time.Since(started).Microseconds()) / 1000
	if err != nil {
		if errors.Is(err, errGuard) {
			entry.Error = errGuard.Error()
		} else {
			entry.Error = err.Error()
		}
		d.record(entry)
		return
	}
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, webhookMaxReply))
	_ = resp.Body.Close() // read to the limit already; nothing to do about a failed close
	entry.Status = resp.StatusCode
	if j.event == "room_message" && resp.StatusCode >= 200 && resp.StatusCode < 300 && len(bytes.TrimSpace(reply)) > 0 {
		if err := d.s.postReply(j, resp.Header.Get("Content-Type"), reply); err != nil {
			entry.Error = "reply not posted: " + err.Error()
		}
	}
	d.record(entry)
}

// request builds the POST: the JSON payload, and for jwt webhooks the JWT both ways HipChat's
// sources name (spec §8): the signed_request query parameter and an "Authorization: JWT …" header.
func (d *dispatcher) request(ctx context.Context, j webhookJob) (*http.Request, error) {
	target := j.hook.url
	var signed string
	if j.hook.authentication == "jwt" {
		var err error
		if signed, err = d.sign(j); err != nil {
			return nil, err
		}
		sep := "?"
		if bytes.ContainsRune([]byte(target), '?') {
			sep = "&"
		}
		target += sep + "signed_request=" + signed
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(j.payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "HipChat.com")
	if signed != "" {
		req.Header.Set("Authorization", "JWT "+signed)
	}
	return req, nil
}

// sign makes the call's JWT: HS256 with the OAuth secret of the add-on installation that registered
// the webhook; iss is its client id, sub the user who caused the event (when one did), iat and exp
// on the emulator's clock, and context.room_id the room.
func (d *dispatcher) sign(j webhookJob) (string, error) {
	now := d.s.now()
	claims := jwt.MapClaims{
		"iss":     j.hook.client.id,
		"iat":     now.Unix(),
		"exp":     now.Add(webhookJWTLife).Unix(),
		"context": map[string]any{"room_id": j.room.id},
	}
	if j.sender != "" {
		claims["sub"] = j.sender
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(j.hook.client.secret))
}

// record appends an entry to the ring.
func (d *dispatcher) record(e webhookCall) {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	e.Seq = d.next
	d.next++
	if len(d.log) < webhookLogSize {
		d.log = append(d.log, e)
		return
	}
	d.log[e.Seq%webhookLogSize] = e
}

// calls returns the remembered calls, oldest first.
func (d *dispatcher) calls() []webhookCall {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	out := make([]webhookCall, 0, len(d.log))
	if len(d.log) < webhookLogSize {
		return append(out, d.log...)
	}
	start := int(d.next % webhookLogSize)
	out = append(out, d.log[start:]...)
	return append(out, d.log[:start]...)
}

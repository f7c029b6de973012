package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ClientOptions configures a Client. Zero fields take sensible defaults.
type ClientOptions struct {
	// HTTPClient makes the upstream calls; nil means a client with Timeout and a pooled transport.
	HTTPClient *http.Client
	// Timeout bounds one upstream call (default 15 s).
	Timeout time.Duration
	// Limiter is the per-connection budget every call passes; nil means NewLimiter(DefaultLimiterOptions()).
	Limiter CallLimiter
	// MaxPages caps how many pages one listing follows through links.next (default 50, i.e. 50,000
	// items at 1,000 a page), so a server that never stops paging cannot loop the client forever.
	MaxPages int
	// PageSize is the max-results of each page of a listing (default and most 1,000, HipChat's limit).
	PageSize int
	// Now is the clock used to read HipChat's X-Ratelimit-Reset; nil means time.Now.
	Now func() time.Time
	// Sleep is how background calls wait for budget; nil means a real timer.
	Sleep func(context.Context, time.Duration) error
	// UnverifiedPerSecond and UnverifiedBurst bound, across every token, the foreground calls of
	// tokens HipChat has not yet accepted here (defaults DefaultUnverifiedPerSecond and
	// DefaultUnverifiedBurst); RejectedFor is how long a token HipChat answered 401 is refused here
	// without a call (default DefaultRejectedFor). Tokens HipChat accepted are never held back by
	// either.
	UnverifiedPerSecond float64
	UnverifiedBurst     int
	RejectedFor         time.Duration
	// Registerer, when set, receives the metrics of every HipChat call
	// (hipchat_connector_upstream_calls_total by outcome, and their duration), of the limiter
	// (waits and refusals by class and budget) and of HipChat's X-Ratelimit-Remaining.
	Registerer prometheus.Registerer
}

// Client calls HipChat v2 on behalf of connections. Every call passes the connection's limiter first;
// foreground calls fail fast when the budget is spent, background calls (ctx from WithBackground) wait.
// Safe for concurrent use.
type Client struct {
	budgets  hipchatBudgets
	gate     *tokenGate
	http     *http.Client
	limiter  CallLimiter
	maxPages int
	pageSize int
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	metrics  *callMetrics // nil without ClientOptions.Registerer
	owners   owners       // whom each connection's token belongs to (TokenOwner)
}

// NewClient returns a client with opts. It panics when opts.Registerer already holds the call
// metrics (a programming error: one client per registry); NewInstrumentedClient returns that as an
// error.
func NewClient(opts ClientOptions) *Client {
	c, err := NewInstrumentedClient(opts)
	if err != nil {
		panic(err)
	}
	return c
}

// NewInstrumentedClient is NewClient that returns the registration error of opts.Registerer.
func NewInstrumentedClient(opts ClientOptions) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.HTTPClient == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 256
		transport.MaxIdleConns = 1024
		opts.HTTPClient = &http.Client{Timeout: opts.Timeout, Transport: transport}
	}
	if opts.Limiter == nil {
		opts.Limiter = NewLimiter(DefaultLimiterOptions())
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 50
	}
	if opts.PageSize <= 0 || opts.PageSize > maxPageSize {
		opts.PageSize = maxPageSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var metrics *callMetrics
	if opts.Registerer != nil {
		m, err := newCallMetrics(opts.Registerer)
		if err != nil {
			return nil, err
		}
		metrics = m
		counted := *opts.HTTPClient
		next := counted.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		counted.Transport = countingTransport{next: next, metrics: m}
		opts.HTTPClient = &counted
	}
	return &Client{http: opts.HTTPClient, limiter: opts.Limiter, maxPages: opts.MaxPages, pageSize: opts.PageSize,
		now: opts.Now, sleep: opts.Sleep, metrics: metrics,
		gate: newTokenGate(opts.UnverifiedPerSecond, opts.UnverifiedBurst, opts.RejectedFor, opts.Now)}, nil
}

type backgroundKey struct{}

// WithBackground marks calls made with the returned context as the poller's: they wait for budget
// instead of failing, and count against the background share.
func WithBackground(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func classOf(ctx context.Context) Class {
	if ctx.Value(backgroundKey{}) != nil {
		return Background
	}
	return Foreground
}

// request is one upstream call.
type request struct {
	method string
	path   string     // below the base URL, already escaped, e.g. "/v2/room/12/member"
	query  url.Values // may be nil
	// rawQuery, when set, is the query already encoded (a history read, made for every feed on
	// every tick, spares the map and its sorting).
	rawQuery string
	body     any // JSON-encoded when non-nil
	// raw, when set, is sent as it is with Content-Type contentType instead of a JSON body (the
	// multipart body of a file share).
	raw         []byte
	contentType string
}

// call runs req for conn and decodes a 2xx JSON answer into out (out may be nil). Idempotent GETs are
// retried once on 5xx and transport errors; nothing else is retried. Every attempt takes budget.
func (c *Client) call(ctx context.Context, conn Connection, req request, out any) error {
	attempts := 1
	if req.method == http.MethodGet {
		attempts = 2
	}
	var err error
	for i := 0; i < attempts; i++ {
		err = c.attempt(ctx, conn, req, out)
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Kind != KindUnavailable || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func (c *Client) attempt(ctx context.Context, conn Connection, req request, out any) error {
	class := classOf(ctx)
	if refused := c.gate.admit(conn.ID, class); refused != nil {
		c.metrics.refused(class, Refusal{Budget: refusedBudget(refused)})
		return refused
	}
	if err := c.acquire(ctx, conn, class); err != nil {
		return err
	}

	var target string
	switch {
	case req.rawQuery != "":
		target = conn.BaseURL + req.path + "?" + req.rawQuery
	case len(req.query) > 0:
		target = conn.BaseURL + req.path + "?" + req.query.Encode()
	default:
		target = conn.BaseURL + req.path
	}
	body, contentType, err := req.encodeBody()
	if err != nil {
		return err
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return &Error{Kind: KindBadRequest, Message: "invalid upstream URL", Cause: err}
	}
	// The keys are written as canonical already: Header.Set would canonicalize them on every call.
	httpReq.Header["Authorization"] = []string{"Bearer " + conn.Token()}
	httpReq.Header["Accept"] = acceptJSON
	if contentType != "" {
		httpReq.Header["Content-Type"] = []string{contentType}
	}
	c.budgets.spend(conn.ID) // counted before the answer, so concurrent readers of the budget see it
	resp, err := c.http.Do(httpReq)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Kind: KindUnavailable, Message: describeTransportError(err), Cause: err}
	}
	defer resp.Body.Close()
	c.observeRateLimit(conn, resp)

	payload, err := readAnswer(resp)
	if err != nil {
		return &Error{Kind: KindUnavailable, Status: resp.StatusCode, Message: "reading HipChat's answer failed", Cause: err}
	}
	// HipChat knows the token when it answered the call: a 403 (a scope), 404 or 400 is about the
	// call. A 401 rejects it. A 5xx, a 429 or a redirect may come before any look at the token (an
	// outage, a proxy in front of HipChat) and says nothing of it.
	switch status := resp.StatusCode; {
	case status == http.StatusUnauthorized:
		c.gate.rejectedNow(conn.ID)
	case status >= 200 && status <= 299, status >= 400 && status <= 499 && status != http.StatusTooManyRequests:
		c.gate.accepted(conn.ID)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.errorFromResponse(conn, resp, payload)
	}
	if out == nil || len(payload) == 0 || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := decodeAnswer(payload, out); err != nil {
		return &Error{Kind: KindUnavailable, Status: resp.StatusCode, Message: "HipChat answered with JSON the connector cannot read", Cause: err}
	}
	return nil
}

// maxAnswer is the largest answer read (a page of 1,000 messages is well under 1 MiB).
const maxAnswer = 64 << 20

// readAnswer reads resp's body, at most maxAnswer bytes: into one buffer of its length when HipChat
// says it, else growing as io.ReadAll does.
func readAnswer(resp *http.Response) ([]byte, error) {
	body := io.LimitReader(resp.Body, maxAnswer)
	if n := resp.ContentLength; n > 0 && n <= maxAnswer {
		payload := make([]byte, n)
		if _, err := io.ReadFull(body, payload); err != nil {
			return nil, err
		}
		return payload, nil
	}
	return io.ReadAll(body)
}

// encodeBody returns the request's body and its content type: raw as it is, or body as JSON; nil
// and "" for a request without one.
func (req request) encodeBody() (io.Reader, string, error) {
	switch {
	case req.raw != nil:
		return bytes.NewReader(req.raw), req.contentType, nil
	case req.body != nil:
		encoded, err := json.Marshal(req.body)
		if err != nil {
			return nil, "", fmt.Errorf("encode %s %s body: %w", req.method, req.path, err)
		}
		return bytes.NewReader(encoded), "application/json", nil
	}
	return nil, "", nil
}

// observeRateLimit obeys HipChat's own budget: when X-Ratelimit-Remaining reaches 0, no further call of
// the connection leaves before X-Ratelimit-Reset.
func (c *Client) observeRateLimit(conn Connection, resp *http.Response) {
	c.budgets.observe(conn.ID, resp.Header, c.now(), c.parseReset)
	remaining := resp.Header.Get("X-Ratelimit-Remaining")
	if remaining == "" {
		return
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(remaining), 64)
	if err == nil {
		c.metrics.observeRemaining(n)
	}
	// A 429 is handled where the error is built, but one of flood control (X-FloodControl-Remaining:
	// 0) may also have spent the token's budget: a Remaining of 0 holds the connection back either way.
	if err == nil && n <= 0 {
		if reset, ok := c.parseReset(resp.Header.Get("X-Ratelimit-Reset")); ok {
			c.limiter.BlockUntil(conn.ID, reset)
		}
	}
}

// parseReset reads a Unix timestamp that HipChat sends as "1412564640" or "1412564640.0". A reset in
// the past or more than 10 minutes ahead (a skewed clock) is clamped to between 1 s and 5 minutes.
func (c *Client) parseReset(v string) (time.Time, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f <= 0 {
		return time.Time{}, false
	}
	now := c.now()
	reset := time.Unix(0, int64(f*float64(time.Second)))
	switch {
	case reset.Before(now.Add(time.Second)):
		reset = now.Add(time.Second)
	case reset.After(now.Add(10 * time.Minute)):
		reset = now.Add(5 * time.Minute)
	}
	return reset, true
}

// hipchatError is HipChat's error body: {"error":{"code":404,"message":"Room not found","type":"Not Found"}}.
type hipchatError struct {
	Error struct {
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (c *Client) errorFromResponse(conn Connection, resp *http.Response, payload []byte) error {
	e := &Error{Kind: kindForStatus(resp.StatusCode), Status: resp.StatusCode}
	var body hipchatError
	if json.Unmarshal(payload, &body) == nil && body.Error.Message != "" {
		e.Message = body.Error.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if e.Kind == KindRateLimited {
		e.RetryAfter = c.retryAfterOf429(resp)
		// Flood control is per room; HipChat's call budget is per token. Only the latter holds the
		// whole connection back.
		if resp.Header.Get("X-FloodControl-Remaining") != "0" {
			e.Budget = BudgetHipChat
			c.limiter.BlockUntil(conn.ID, c.now().Add(e.RetryAfter))
		} else {
			e.Budget = BudgetFloodControl
		}
	}
	return e
}

// retryAfterOf429 is how long to wait after HipChat's 429: Retry-After when sent, else the later of
// the rate-limit and flood-control resets, else HipChat's own window (5 minutes, as hipchatter did).
func (c *Client) retryAfterOf429(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	var latest time.Time
	for _, h := range []string{"X-Ratelimit-Reset", "X-FloodControl-Reset"} {
		if resp.Header.Get(h) == "" {
			continue
		}
		if (h == "X-Ratelimit-Reset") && resp.Header.Get("X-Ratelimit-Remaining") != "0" && resp.Header.Get("X-FloodControl-Remaining") == "0" {
			continue // flood control, not the token budget, said no
		}
		if t, ok := c.parseReset(resp.Header.Get(h)); ok && t.After(latest) {
			latest = t
		}
	}
	if latest.IsZero() {
		return 5 * time.Minute
	}
	return latest.Sub(c.now())
}

// describeTransportError says in a few safe words why no answer came.
func describeTransportError(err error) string {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "HipChat did not answer in time"
	}
	return "HipChat could not be reached"
}

package hipchatsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Options configures a Server. The zero value is valid: no limits, a random admin token, time.Now.
type Options struct {
	AdminToken     string           // group-admin personal token with every scope; random when empty
	UserRateLimit  int              // calls per 5 minutes for user and personal tokens; 0 = off
	AddonRateLimit int              // calls per 5 minutes for add-on and room tokens; 0 = off
	FloodLimit     int              // message-sending calls per minute per room and sender; 0 = off
	Now            func() time.Time // injectable clock; nil = time.Now
	Fixtures       *Fixtures        // optional seed data, see LoadFixtures
	// AuthenticatedFiles makes every share/file a secure file share, as HipChat Server groups with
	// secure file storage had: history shows authenticated_file {id, name, size} instead of file.
	// Rooms can also opt in alone (fixtures' "authenticated_files").
	AuthenticatedFiles bool

	// newID makes message ids, tokens and versions; tests make it deterministic. nil = random UUIDs.
	newID func() string
	// webhookSeed seeds webhook_drop_rate's choices; tests fix it. 0 = random.
	webhookSeed uint64
}

// DefaultOptions returns HipChat Cloud's limits: 100 calls per 5 minutes for user tokens, 500 for
// add-on tokens, 30 messages per minute per room and sender (spec §1.5).
func DefaultOptions() Options {
	return Options{UserRateLimit: 100, AddonRateLimit: 500, FloodLimit: 30}
}

// Server is an in-memory HipChat v2 API. It is safe for concurrent use.
type Server struct {
	opts  Options
	now   func() time.Time
	newID func() string
	mux   *http.ServeMux
	admin string
	meter meter
	seq   atomic.Uint64 // orders messages that share a timestamp
	hooks *dispatcher   // makes the room webhooks' calls
	stop  context.CancelFunc

	faultMu sync.Mutex
	faults  atomic.Pointer[[]fault]

	// mu guards the directory: everything below and the mutable fields of users, rooms and tokens.
	// Room histories have their own locks.
	mu          sync.RWMutex
	users       []*user // index id-1
	byEmail     map[string]*user
	byMention   map[string]*user
	rooms       []*room // index id-1; deleted rooms stay with deleted set
	roomsByName map[string]*room
	tokens      map[string]*token
	clients     map[string]*addonClient
	chats       map[[2]int]*history
	files       map[string]*storedFile
	webhookSeq  int
	emoticons   []emoticon                    // fixed at construction
	glances     map[glanceTarget]glanceUpdate // add-on UI updates, the latest per glance and target
}

// New returns a Server holding the group admin (user 1, whose personal token is opts.AdminToken) and
// whatever opts.Fixtures describes. It returns an error when the fixtures are inconsistent or a limit
// is negative.
func New(opts Options) (*Server, error) {
	if opts.UserRateLimit < 0 || opts.AddonRateLimit < 0 || opts.FloodLimit < 0 {
		return nil, errors.New("hipchatsim: rate and flood limits must be 0 (off) or positive")
	}
	s := &Server{
		opts:        opts,
		now:         opts.Now,
		newID:       opts.newID,
		byEmail:     make(map[string]*user),
		byMention:   make(map[string]*user),
		roomsByName: make(map[string]*room),
		tokens:      make(map[string]*token),
		clients:     make(map[string]*addonClient),
		chats:       make(map[[2]int]*history),
		files:       make(map[string]*storedFile),
		glances:     make(map[glanceTarget]glanceUpdate),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return uuid.NewString() }
	}
	ctx, stop := context.WithCancel(context.Background())
	s.hooks, s.stop = newDispatcher(s, ctx, opts.webhookSeed), stop
	s.admin = opts.AdminToken
	if s.admin == "" {
		s.admin = randomToken()
	}
	now := s.now()
	admin := &user{name: "Group Admin", email: "admin@example.com", mention: "admin", title: "Group administrator",
		timezone: "UTC", admin: true, created: now}
	s.addUser(admin)
	s.addToken(&token{value: s.admin, kind: kindPersonal, user: admin, scopes: allScopes, created: now})
	s.addEmoticons()
	if opts.Fixtures != nil {
		if err := s.load(opts.Fixtures); err != nil {
			return nil, fmt.Errorf("hipchatsim: fixtures: %w", err)
		}
	}
	s.mux = http.NewServeMux()
	s.routes()
	return s, nil
}

// Close abandons the webhook calls in flight and makes no more; the API keeps answering. It never
// fails.
func (s *Server) Close() error {
	s.stop()
	return nil
}

// AdminToken returns the group admin's personal access token, which has every scope.
func (s *Server) AdminToken() string { return s.admin }

// randomToken returns 40 random characters, the length of HipChat's tokens.
func randomToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// token makes a new random token, or a deterministic one in tests.
func (s *Server) randomToken() string {
	if s.opts.newID != nil {
		return "tok-" + strings.ReplaceAll(s.newID(), "-", "")
	}
	return randomToken()
}

// version makes an 8-character upper-case version string, HipChat's etag-like field.
func (s *Server) version() string {
	id := strings.ToUpper(strings.ReplaceAll(s.newID(), "-", ""))
	return id[len(id)-8:]
}

// ServeHTTP answers one HipChat v2 API request, or a /_sim/ side-channel request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			writeError(w, errorf(http.StatusInternalServerError, "Internal Server Error"))
		}
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unrouted(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unrouted answers a request no route takes: 404, or 405 with Allow when the path exists with another
// method, in HipChat's error shape. Under /v2/ a known token's request still counts against its rate
// limit and carries the X-Ratelimit headers (spec §1.5: on every response), 429 once it is spent.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		if raw, ok := bearer(r, r.URL.Query()); ok {
			now := s.now()
			if tok := s.lookupToken(raw, now); tok != nil {
				st, ok := s.meter.record(tok.usage, now, s.limitFor(tok))
				setRateHeaders(w.Header(), st)
				if !ok {
					writeError(w, errRateLimited)
					return
				}
			}
		}
	}
	h, _ := s.mux.Handler(r)
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusNotFound:
		writeError(w, errNotFound)
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeError(w, errorf(http.StatusMethodNotAllowed, "Method Not Allowed"))
	default:
		s.mux.ServeHTTP(w, r) // a redirect to the clean path
	}
}

// statusProbe records what the mux's own 404/405 handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}

// call is one request being served.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	tok   *token // nil on routes without authentication
	now   time.Time
	query url.Values
}

// base is the scheme and host the request came to, so links point back at the emulator.
func (c *call) base() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host
}

func (c *call) json(status int, v any) error {
	writeJSON(c.w, status, v)
	return nil
}

func (c *call) noContent() error {
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// route is one endpoint: its pattern, who may call it, and its handler.
type route struct {
	pattern    string   // net/http pattern with method
	scopes     []string // any one of them is enough; nil: no token needed
	usersOnly  bool     // "Accessible by users" only (user and personal tokens)
	addonsOnly bool     // add-on tokens only (group clients)
	handle     func(c *call) error
}

// handle registers rt on the mux behind authentication, rate limiting and fault injection.
func (s *Server) handle(rt route) {
	s.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
		c := &call{s: s, w: w, r: r, query: r.URL.Query()}
		var held *expandWriter
		paths := expandPaths(c.query)
		if r.Method == http.MethodGet && len(paths) > 0 {
			held = &expandWriter{w: w}
			c.w = held
		}
		if err := s.serve(c, rt); err != nil {
			writeError(c.w, err)
		}
		if held != nil {
			c.finishExpand(held, paths)
		}
	})
}

func (s *Server) serve(c *call, rt route) error {
	raw, hasToken := bearer(c.r, c.query)
	var ft fault
	var faulty bool
	if strings.HasPrefix(c.r.URL.Path, "/v2/") {
		ft, faulty = s.faultFor(raw)
	}
	if faulty {
		ft.delay(c.r.Context())
	}
	fire := faulty && ft.fires()
	c.now = s.now()
	if rt.scopes != nil {
		if !hasToken {
			return errNoToken
		}
		tok := s.lookupToken(raw, c.now)
		if tok == nil {
			return errBadToken
		}
		c.tok = tok
		st, ok := s.meter.record(tok.usage, c.now, s.limitFor(tok))
		if fire && ft.Status == http.StatusTooManyRequests {
			st.remaining = 0
		}
		setRateHeaders(c.w.Header(), st)
		if !ok {
			return errRateLimited
		}
	}
	if fire {
		if ft.Status == http.StatusTooManyRequests && c.w.Header().Get("X-Ratelimit-Remaining") != "0" {
			// The rate limit is off (or the route takes no token): a real 429 always says when to
			// come back, so this one does too.
			c.w.Header().Set("Retry-After", "1")
		}
		return faultError(ft.Status)
	}
	if rt.scopes != nil {
		if !c.tok.scopes.anyOf(rt.scopes) {
			return scopeError(rt.scopes)
		}
		if rt.usersOnly && c.tok.user == nil {
			return errUsersOnly
		}
		if rt.addonsOnly && c.tok.client == nil {
			return errAddonsOnly
		}
		if v, _ := queryBool(c.query, "auth_test", false); v {
			return c.json(http.StatusAccepted, map[string]any{"success": map[string]any{
				"code": 202, "type": "Accepted", "message": "This auth_token has access to use this method."}})
		}
	}
	return rt.handle(c)
}

func (s *Server) limitFor(t *token) int {
	if t.kind == kindAddon || t.kind == kindRoom {
		return s.opts.AddonRateLimit
	}
	return s.opts.UserRateLimit
}

// bearer returns the request's token: the Authorization header (Bearer scheme) or ?auth_token=.
// A header of another scheme is returned whole, so that it fails as an invalid token.
func bearer(r *http.Request, q url.Values) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:]), true
		}
		return h, true
	}
	if t := q.Get("auth_token"); t != "" {
		return t, true
	}
	return "", false
}

// HTTPServer is an http.Server for the emulator, with timeouts that fit it: long reads for
// share/file uploads, long writes because injected faults may delay an answer by up to a minute.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
}

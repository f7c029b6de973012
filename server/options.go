package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/swagger"
)

// Options configures a Server. Zero fields take the defaults of DefaultOptions; Validate says what is
// wrong with the rest.
type Options struct {
	// Addr is the TCP address to listen on; port 0 picks a free port (Server.Addr tells which).
	Addr string
	// HipChatURL is the base URL of HipChat v2 (Cloud, Server or the emulator), without /v2.
	HipChatURL string
	// PublicURL is where workflow engines reach the connector: the host of /swagger.json and the base of
	// every absolute Location. Empty means http://<the bound address>.
	PublicURL string
	// AllowPrivateCallbacks lets subscriptions deliver to loopback and private-network addresses.
	AllowPrivateCallbacks bool
	// AdminToken is the operator credential of the /admin/ routes (backup, every connection's
	// subscriptions); empty means those routes are absent (404). A secret: never logged.
	AdminToken string
	// SecretOverlap is how long a rotated-out signing secret keeps signing deliveries beside the
	// new one (-secret-overlap).
	SecretOverlap time.Duration

	// Timeouts of the http.Server, and ShutdownTimeout: the one deadline for a graceful shutdown.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// MaxBodyBytes caps a request body; a larger one is answered 413.
	MaxBodyBytes int64
	// MaxFileBytes is the largest file ShareFileWithRoom shares (default HipChat's 50 MiB); its
	// body may be as large as the file in base64.
	MaxFileBytes int64

	// Logger receives the access log and the server's own events; nil discards them.
	Logger *slog.Logger
	// Clock is the time source of durations and of the default client's limiter; nil means time.Now.
	Clock func() time.Time
}

// DefaultOptions returns the HTTP defaults of DESIGN.md §8 and the http.Server timeouts.
func DefaultOptions() Options {
	return Options{
		Addr:              "127.0.0.1:8080",
		HipChatURL:        "https://api.hipchat.com",
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// An action that pages through a big listing makes several HipChat calls of up to 15 s each.
		WriteTimeout:    2 * time.Minute,
		IdleTimeout:     2 * time.Minute,
		ShutdownTimeout: 20 * time.Second,
		MaxBodyBytes:    64 << 10,
		MaxFileBytes:    actions.DefaultMaxFileBytes,
		SecretOverlap:   24 * time.Hour,
	}
}

// withDefaults fills the zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	setString := func(v *string, def string) {
		if strings.TrimSpace(*v) == "" {
			*v = def
		}
	}
	setString(&o.Addr, d.Addr)
	setString(&o.HipChatURL, d.HipChatURL)
	for _, p := range []struct{ v, def *time.Duration }{
		{&o.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&o.ReadTimeout, &d.ReadTimeout},
		{&o.WriteTimeout, &d.WriteTimeout}, {&o.IdleTimeout, &d.IdleTimeout}, {&o.ShutdownTimeout, &d.ShutdownTimeout},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = d.MaxBodyBytes
	}
	if o.MaxFileBytes == 0 {
		o.MaxFileBytes = d.MaxFileBytes
	}
	if o.SecretOverlap == 0 {
		o.SecretOverlap = d.SecretOverlap
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	o.HipChatURL, _ = TrimHipChatURL(o.HipChatURL)
	o.PublicURL = strings.TrimSpace(o.PublicURL)
	return o
}

// Validate reports every option that cannot work, joined; nil when all can. Zero values are valid
// (they take defaults).
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: want host:port, e.g. 127.0.0.1:8080", o.Addr))
	}
	if err := checkHipChatURL(o.HipChatURL); err != nil {
		errs = append(errs, err)
	}
	if o.PublicURL != "" {
		if _, err := swagger.Definition(o.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("public-url: %w", err))
		}
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"read header timeout", o.ReadHeaderTimeout}, {"read timeout", o.ReadTimeout}, {"write timeout", o.WriteTimeout},
		{"idle timeout", o.IdleTimeout}, {"shutdown timeout", o.ShutdownTimeout},
	} {
		if t.d < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive", t.name, t.d))
		}
	}
	if o.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body bytes %d: must be positive", o.MaxBodyBytes))
	}
	if o.MaxFileBytes < 0 || o.MaxFileBytes > actions.DefaultMaxFileBytes {
		errs = append(errs, fmt.Errorf("max-file-bytes %d: must be between 1 and HipChat's limit, %d (0: that limit)", o.MaxFileBytes, actions.DefaultMaxFileBytes))
	}
	if o.AdminToken != "" {
		if err := checkOperatorCredential(strings.TrimSpace(o.AdminToken), "admin token"); err != nil {
			errs = append(errs, err)
		}
	}
	if o.SecretOverlap < 0 {
		errs = append(errs, fmt.Errorf("secret-overlap %s: must not be negative", o.SecretOverlap))
	}
	return errors.Join(errs...)
}

// TrimHipChatURL is the base URL of HipChat as the client wants it: without trailing slashes and
// without a /v2 suffix (the client adds /v2 to every path; https://host/v2 would call
// https://host/v2/v2/… and get 404 for every action). trimmedV2 reports that a /v2 was dropped,
// so that the caller can say so.
func TrimHipChatURL(raw string) (base string, trimmedV2 bool) {
	base = strings.TrimRight(strings.TrimSpace(raw), "/")
	if b, ok := strings.CutSuffix(base, "/v2"); ok {
		return strings.TrimRight(b, "/"), true
	}
	return base, false
}

// checkHipChatURL accepts an absolute http(s) URL without user info, query or fragment.
func checkHipChatURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		// url.Error repeats the whole URL, password and all; its cause names only what is wrong.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return fmt.Errorf("hipchat-url: %w", err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("hipchat-url %q: want an absolute http or https URL such as https://api.hipchat.com", redactURL(raw))
	case u.User != nil:
		return fmt.Errorf("hipchat-url %q: must not carry user info (the token travels in the Authorization header)", redactURL(raw))
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("hipchat-url %q: must not have a query or fragment", redactURL(raw))
	}
	return nil
}

// redactURL hides a password in raw, as url.URL.Redacted does, and any query (a token could hide there).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	if u.User != nil {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// LogValue prints the options without secrets: URLs lose passwords and queries. Options hold no token;
// this keeps it so when someone adds one.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", o.Addr),
		slog.String("hipchat_url", redactURL(o.HipChatURL)),
		slog.String("public_url", redactURL(o.PublicURL)),
		slog.Bool("allow_private_callbacks", o.AllowPrivateCallbacks),
		slog.String("read_header_timeout", o.ReadHeaderTimeout.String()),
		slog.String("read_timeout", o.ReadTimeout.String()),
		slog.String("write_timeout", o.WriteTimeout.String()),
		slog.String("idle_timeout", o.IdleTimeout.String()),
		slog.String("shutdown_timeout", o.ShutdownTimeout.String()),
		slog.Int64("max_body_bytes", o.MaxBodyBytes),
		slog.Int64("max_file_bytes", o.MaxFileBytes),
		slog.String("secret_overlap", o.SecretOverlap.String()),
		slog.Bool("admin_token_set", o.AdminToken != ""),
	)
}

// String prints the options as LogValue does.
func (o Options) String() string {
	var b strings.Builder
	for i, a := range o.LogValue().Group() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", a.Key, a.Value)
	}
	return b.String()
}

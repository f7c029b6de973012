package etcd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// Config is how an operator points the connector at etcd: the cluster's endpoints, the key prefix,
// TLS files and credentials, as etcdctl takes them. Options turns it into Open's options.
type Config struct {
	// Endpoints is the comma-separated list of the cluster's client URLs or host:port; empty: no
	// etcd (the bbolt file).
	Endpoints string
	// Prefix is put before every key.
	Prefix string
	// CACert, Cert and Key are PEM files, as etcdctl's --cacert, --cert and --key: the CA that
	// signed the servers' certificates, and a client certificate with its key.
	CACert, Cert, Key string
	// Username and Password authenticate to etcd.
	Username, Password string
	// DialTimeout bounds the first connection.
	DialTimeout time.Duration
}

// DefaultConfig is no etcd, with the default prefix and dial timeout.
func DefaultConfig() Config { return Config{Prefix: DefaultPrefix, DialTimeout: DefaultDialTimeout} }

// Enabled reports whether the configuration names any endpoint.
func (c Config) Enabled() bool { return len(c.EndpointList()) > 0 }

// EndpointList splits Endpoints, dropping blanks.
func (c Config) EndpointList() []string {
	var out []string
	for e := range strings.SplitSeq(c.Endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Validate reports what cannot work, joined, each error naming its setting as the serve flag
// (etcd-prefix, etcd-cert…); nil without endpoints.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if strings.TrimSpace(c.Prefix) == "" {
		errs = append(errs, errors.New("etcd-prefix: must not be empty with -etcd-endpoints"))
	}
	if (c.Cert == "") != (c.Key == "") {
		errs = append(errs, errors.New("etcd-cert and etcd-key: give both or neither"))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, errors.New("etcd-username and etcd-password: give both or neither"))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("etcd-dial-timeout %s: must be positive", c.DialTimeout))
	}
	return errors.Join(errs...)
}

// Options is Open's options for c, sealing with key. Errors: TLS files that do not load.
func (c Config) Options(key []byte) (Options, error) {
	tlsConfig, err := c.tlsConfig()
	if err != nil {
		return Options{}, err
	}
	return Options{Endpoints: c.EndpointList(), Prefix: c.Prefix, TLS: tlsConfig, Username: c.Username,
		Password: c.Password, DialTimeout: c.DialTimeout, Key: key}, nil
}

// tlsConfig is the client TLS of the etcd connection; nil without any TLS file or https endpoint.
func (c Config) tlsConfig() (*tls.Config, error) {
	https := false
	for _, e := range c.EndpointList() {
		https = https || strings.HasPrefix(e, "https://")
	}
	if c.CACert == "" && c.Cert == "" && !https {
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: c.Cert, KeyFile: c.Key, TrustedCAFile: c.CACert}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd TLS: %w", err)
	}
	return cfg, nil
}

// LogValue prints the settings without the password.
func (c Config) LogValue() slog.Value {
	password := ""
	if c.Password != "" {
		password = "set"
	}
	return slog.GroupValue(
		slog.Any("endpoints", c.EndpointList()), slog.String("prefix", c.Prefix),
		slog.String("cacert", c.CACert), slog.String("cert", c.Cert), slog.String("key", c.Key),
		slog.String("username", c.Username), slog.String("password", password),
		slog.String("dial_timeout", c.DialTimeout.String()),
	)
}

package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// etcdConfig is serve's etcd backend (issue 17): with endpoints, everything the bbolt file would
// hold lives under Prefix in etcd instead, and -db is not used.
type etcdConfig struct {
	// Endpoints is the comma-separated list of the cluster's client URLs or host:port
	// (-etcd-endpoints); empty: the bbolt file.
	Endpoints string
	// Prefix is put before every key (-etcd-prefix).
	Prefix string
	// CACert, Cert and Key are PEM files, as etcdctl's --cacert, --cert and --key: the CA that
	// signed the servers' certificates, and a client certificate with its key.
	CACert, Cert, Key string
	// Username and Password authenticate to etcd (-etcd-username, -etcd-password or
	// HIPCHAT_CONNECTOR_ETCD_PASSWORD).
	Username, Password string
	// DialTimeout bounds the first connection (-etcd-dial-timeout).
	DialTimeout time.Duration
	// LeaseTTL is the TTL of this replica's etcd session (-etcd-lease-ttl): when the replica dies,
	// its feeds and deliveries move to the others within it.
	LeaseTTL time.Duration
}

func defaultEtcdConfig() etcdConfig {
	return etcdConfig{Prefix: etcd.DefaultPrefix, DialTimeout: etcd.DefaultDialTimeout, LeaseTTL: cluster.DefaultTTL}
}

// bind registers the etcd flags on fs.
func (c *etcdConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Endpoints, "etcd-endpoints", c.Endpoints, "comma-separated etcd `endpoints` (host:port or URL);\nwhen set, the state lives in etcd and -db is not used")
	fs.StringVar(&c.Prefix, "etcd-prefix", c.Prefix, "`prefix` of every etcd key the connector writes")
	fs.StringVar(&c.CACert, "etcd-cacert", c.CACert, "`path` of the PEM CA bundle that verifies the etcd servers (TLS)")
	fs.StringVar(&c.Cert, "etcd-cert", c.Cert, "`path` of the PEM client certificate for etcd (TLS)")
	fs.StringVar(&c.Key, "etcd-key", c.Key, "`path` of the PEM key of -etcd-cert")
	fs.StringVar(&c.Username, "etcd-username", c.Username, "etcd `user` (with -etcd-password)")
	fs.StringVar(&c.Password, "etcd-password", c.Password, "etcd `password`; better given as "+envName("etcd-password"))
	fs.DurationVar(&c.DialTimeout, "etcd-dial-timeout", c.DialTimeout, "how long to wait for the first connection to etcd")
	fs.DurationVar(&c.LeaseTTL, "etcd-lease-ttl", c.LeaseTTL, "TTL of this replica's etcd session (whole seconds): a dead replica's feeds\nand deliveries move to the others within it")
}

// enabled reports whether serve uses etcd.
func (c etcdConfig) enabled() bool { return len(c.endpoints()) > 0 }

// endpoints splits Endpoints, dropping blanks.
func (c etcdConfig) endpoints() []string {
	var out []string
	for e := range strings.SplitSeq(c.Endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// validate reports what cannot work, joined.
func (c etcdConfig) validate() error {
	if !c.enabled() {
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
	if c.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("etcd-lease-ttl %s: must be at least 1s", c.LeaseTTL))
	}
	return errors.Join(errs...)
}

// tlsConfig is the client TLS of the etcd connection; nil without any TLS file or https endpoint.
func (c etcdConfig) tlsConfig() (*tls.Config, error) {
	https := false
	for _, e := range c.endpoints() {
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

// LogValue prints the etcd settings without the password.
func (c etcdConfig) LogValue() slog.Value {
	password := ""
	if c.Password != "" {
		password = "set"
	}
	return slog.GroupValue(
		slog.Any("endpoints", c.endpoints()), slog.String("prefix", c.Prefix),
		slog.String("cacert", c.CACert), slog.String("cert", c.Cert), slog.String("key", c.Key),
		slog.String("username", c.Username), slog.String("password", password),
		slog.String("dial_timeout", c.DialTimeout.String()), slog.String("lease_ttl", c.LeaseTTL.String()),
	)
}

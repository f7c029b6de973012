package serveconfig

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/hipchat-connector/hipchat-connector/cluster"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
)

// Etcd is serve's etcd backend: with endpoints, everything the bbolt file would hold lives
// under the prefix in etcd instead (state/etcd), -db is not used, and this process is one of the
// replicas sharing it (LeaseTTL, package cluster).
type Etcd struct {
	etcd.Config
	// LeaseTTL is the TTL of this replica's etcd session (-etcd-lease-ttl): when the replica dies,
	// its feeds and deliveries move to the others within it.
	LeaseTTL time.Duration
}

// DefaultEtcd is the etcd part of Default: not enabled (no endpoints).
func DefaultEtcd() Etcd {
	return Etcd{Config: etcd.DefaultConfig(), LeaseTTL: cluster.DefaultTTL}
}

// bind registers the etcd flags on fs.
func (c *Etcd) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Endpoints, "etcd-endpoints", c.Endpoints, "comma-separated etcd `endpoints` (host:port or URL);\nwhen set, the state lives in etcd and -db is not used")
	fs.StringVar(&c.Prefix, "etcd-prefix", c.Prefix, "`prefix` of every etcd key the connector writes")
	fs.StringVar(&c.CACert, "etcd-cacert", c.CACert, "`path` of the PEM CA bundle that verifies the etcd servers (TLS)")
	fs.StringVar(&c.Cert, "etcd-cert", c.Cert, "`path` of the PEM client certificate for etcd (TLS)")
	fs.StringVar(&c.Key, "etcd-key", c.Key, "`path` of the PEM key of -etcd-cert")
	fs.StringVar(&c.Username, "etcd-username", c.Username, "etcd `user` (with -etcd-password)")
	fs.StringVar(&c.Password, "etcd-password", c.Password, "etcd `password`; better given as "+EnvName("etcd-password"))
	fs.DurationVar(&c.DialTimeout, "etcd-dial-timeout", c.DialTimeout, "how long to wait for the first connection to etcd")
	fs.DurationVar(&c.LeaseTTL, "etcd-lease-ttl", c.LeaseTTL, "TTL of this replica's etcd session, in whole seconds: a dead replica's feeds\nand deliveries move to the others within it")
}

// validate reports what cannot work, joined. etcd grants leases in whole seconds: a TTL of
// 1500ms is refused with the nearest whole value rather than rounded in silence, since it bounds
// how long a dead replica's feeds wait for another and the log would show a TTL etcd never had.
func (c Etcd) validate() error {
	errs := []error{c.Config.Validate()}
	switch {
	case !c.Enabled():
	case c.LeaseTTL < time.Second:
		errs = append(errs, fmt.Errorf("etcd-lease-ttl %s: must be at least 1s", c.LeaseTTL))
	case c.LeaseTTL%time.Second != 0:
		errs = append(errs, fmt.Errorf("etcd-lease-ttl %s: etcd leases are whole seconds; use %s",
			c.LeaseTTL, c.LeaseTTL.Round(time.Second)))
	}
	return errors.Join(errs...)
}

// LogValue prints the etcd settings without the password.
func (c Etcd) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("store", c.Config), slog.String("lease_ttl", c.LeaseTTL.String()))
}

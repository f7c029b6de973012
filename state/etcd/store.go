// Package etcd keeps the connector's durable state (package state's domain) in etcd, behind the
// same store interfaces that the poller, the deliverer and the subscriptions
// API declare (and that the bbolt store, package state/bolt, satisfies):
// subscriptions with their cursors, the outbox and delivery log, the
// circuit state of callback endpoints, and the server key. Tokens, signing
// secrets and the server key are sealed with the operator's key exactly as
// package state seals them; etcd never holds them in clear.
//
// Writes are etcd transactions that compare the mod revision of every key
// they read and are retried when another writer got there first. A write that
// would exceed etcd's limits (128 operations, about 1.5 MiB per request) is
// split, in an order that never loses an event (see CommitFeed).
//
// A Store is safe for concurrent use.
package etcd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// Layout of the keys under the prefix (schema version 2). Ids in keys are
// path-escaped (url.PathEscape), so none holds a "/"; seq and time are 16
// lowercase hex digits (uint64, big-endian order), so keys sort as numbers.
// "→" separates a key from its value.
//
//	meta/schema_version                   → decimal version
//	meta/server_key                       → sealed 32 random bytes
//	subscriptions/<sub>                   → JSON record; token and secrets sealed
//	connections/<connection>/<sub>        → ""   (SubscriptionsOf)
//	outbox/<sub>                          → JSON {next_seq}; rewritten by every
//	                                        write to the subscription's log or
//	                                        queue, so such writers conflict here
//	log/<sub>/<seq>                       → delivery record (pending and finished), in the
//	                                        compact form of state's deliveryformat.go (JSON in
//	                                        version 1: still read)
//	ids/<sub>/<delivery id>               → seq (dedupe, lookup by webhook-id)
//	pending/<sub>/<seq>                   → next attempt time, unix ns (hex); FIFO subscriptions only
//	ready/<sub>/<time>/<seq>              → ""   what may go out at that time, by subscription
//	heads/<time>/<sub>                    → ""   each subscription's earliest in ready/
//	endpoints/<endpoint key>              → JSON state.Endpoint
//	known/<connection id>                 → ""   (HipChat accepted its token: KnownConnections)
//
// ready holds what may go out when its time comes: every pending delivery of
// a best-effort subscription, only the head of a FIFO one; pending holds the
// queue of a FIFO subscription (its first is the head), where a best-effort
// one needs none (queue.go). PickDue reads heads up to now and, of each
// subscription it takes there, its ready entries up to now (duelisting.go).
// Version 1 had one due/<time>/<seq>/<sub> index instead, and a pending entry
// for every pending delivery; Open migrates it (migrate.go).
const (
	keySchemaVersion = "meta/schema_version"
	keyServerKey     = "meta/server_key"
	dirSubscriptions = "subscriptions/"
	dirConnections   = "connections/"
	dirOutbox        = "outbox/"
	dirLog           = "log/"
	dirIDs           = "ids/"
	dirPending       = "pending/"
	dirReady         = "ready/"
	dirHeads         = "heads/"
	dirEndpoints     = "endpoints/"
	dirKnown         = "known/"
)

// SchemaVersion is the key layout this package writes.
const SchemaVersion = 2

// Defaults applied by Open to zero Options fields.
const (
	DefaultPrefix      = "/hipchat-connector/"
	DefaultTimeout     = 10 * time.Second
	DefaultDialTimeout = 5 * time.Second
	serverKeyLength    = 32
)

// Options configure Open.
type Options struct {
	// Client is an etcd client to use; the Store does not close it. When nil,
	// Open dials Endpoints (with TLS, Username and Password) and Close closes
	// that client.
	Client      *clientv3.Client
	Endpoints   []string
	TLS         *tls.Config
	Username    string
	Password    string
	DialTimeout time.Duration // zero: DefaultDialTimeout
	// Prefix is put before every key; "" means DefaultPrefix. A "/" is added
	// when it does not end with one.
	Prefix string
	// Key is the 32-byte sealing key (the same key file as the bbolt store).
	// Required.
	Key []byte
	// Timeout bounds each etcd request of a method; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock of CreatedAt and NextAttemptAt stamps; nil: time.Now.
	Now func() time.Time
	// Retention bounds the finished deliveries Prune keeps; zero fields take
	// state's defaults.
	Retention state.Retention
	// KeepHistory turns off the compaction of etcd's history that Prune
	// and the store's own periodic compaction do (e.g. when an operator
	// compacts the cluster).
	KeepHistory bool
	// CompactEvery is how often the store compacts etcd's history, to the
	// revision it had seen one period earlier (compactHistory); zero or
	// less means DefaultCompactEvery. Not used with KeepHistory.
	CompactEvery time.Duration
}

// Store is the etcd-backed state of the connector.
type Store struct {
	client      *clientv3.Client
	ownClient   bool
	prefix      string
	sealer      *state.Sealer
	serverKey   []byte
	now         func() time.Time
	timeout     time.Duration
	retention   state.Retention
	keepHistory bool
	fence       fenceState
	known       *lastKnown
	rev         atomic.Int64    // the newest revision seen (pinned.go)
	ctx         context.Context // ends at Close
	cancel      context.CancelFunc
	background  sync.WaitGroup // the history compaction, waited for by Close
}

// Open connects to etcd, checks or sets the schema version under the prefix
// and unseals (or generates, the first time) the server key. Unless
// KeepHistory, the store then compacts etcd's history every CompactEvery
// until Close (compactHistory).
//
// Errors: state.ErrInvalid when Key is not 32 bytes or neither Client nor
// Endpoints is given; state.ErrSchemaVersion when the prefix was written by a
// newer binary; state.ErrWrongKey when the server key was sealed with another
// key; an etcd error when the cluster cannot be reached.
func Open(ctx context.Context, opts Options) (*Store, error) {
	sl, err := state.NewSealer(opts.Key)
	if err != nil {
		return nil, fmt.Errorf("etcd store: open: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Retention = opts.Retention.WithDefaults()
	client, own := opts.Client, false
	if client == nil {
		if len(opts.Endpoints) == 0 {
			return nil, fmt.Errorf("etcd store: open: %w: no etcd client or endpoints", state.ErrInvalid)
		}
		if opts.DialTimeout <= 0 {
			opts.DialTimeout = DefaultDialTimeout
		}
		client, err = clientv3.New(clientv3.Config{
			Endpoints: opts.Endpoints, TLS: opts.TLS, Username: opts.Username, Password: opts.Password,
			DialTimeout: opts.DialTimeout, Logger: zap.NewNop(),
			// No Context: the client outlives ctx (serve's, ended by SIGTERM) until Close, so the
			// deliverer can still record its last attempts while the program stops.
		})
		if err != nil {
			return nil, fmt.Errorf("etcd store: open: %w", err)
		}
		own = true
	}
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Store{
		client: client, ownClient: own, prefix: opts.Prefix, sealer: sl, now: opts.Now,
		timeout: opts.Timeout, retention: opts.Retention, keepHistory: opts.KeepHistory,
		known: newLastKnown(), ctx: base, cancel: cancel,
	}
	if err := s.initialize(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("etcd store: open %s: %w", opts.Prefix, err)
	}
	if !opts.KeepHistory {
		every := opts.CompactEvery
		if every <= 0 {
			every = DefaultCompactEvery
		}
		s.background.Go(func() { s.compactHistory(every) })
	}
	return s, nil
}

// initialize stamps a fresh prefix with the schema version and a new sealed
// server key in one transaction (the first replica wins), or reads them.
func (s *Store) initialize(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	key := make([]byte, serverKeyLength)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate server key: %w", err)
	}
	sealed, err := s.sealer.Seal(key, state.SealingServerKey())
	if err != nil {
		return err
	}
	version, serverKey := s.key(keySchemaVersion), s.key(keyServerKey)
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(version), "=", 0)).
		Then(clientv3.OpPut(version, fmt.Sprint(SchemaVersion)), clientv3.OpPut(serverKey, string(sealed))).
		Else(clientv3.OpGet(version), clientv3.OpGet(serverKey)).
		Commit()
	if err != nil {
		return err
	}
	if resp.Succeeded {
		s.serverKey = key
		return nil
	}
	versions, keys := resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs
	var v int
	if _, err := fmt.Sscan(string(versions[0].Value), &v); err != nil || v <= 0 {
		return fmt.Errorf("%w: malformed schema version %q", state.ErrSchemaVersion, versions[0].Value)
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: prefix has schema version %d, this binary supports up to %d; run a newer binary",
			state.ErrSchemaVersion, v, SchemaVersion)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: schema version without a server key", state.ErrSchemaVersion)
	}
	if s.serverKey, err = s.sealer.Open(keys[0].Value, state.SealingServerKey()); err != nil {
		return fmt.Errorf("unseal server key: %w", err)
	}
	if v < SchemaVersion {
		return s.migrate(ctx, v, versions[0].ModRevision)
	}
	return nil
}

// ServerKey returns the 32 random bytes generated when the prefix was first
// used; every replica reads the same. The caller owns the returned slice.
func (s *Store) ServerKey() []byte { return append([]byte(nil), s.serverKey...) }

// Close ends the Store's requests and its history compaction, and closes the
// client when Open dialled it.
// Using the Store afterwards returns context.Canceled errors.
func (s *Store) Close() error {
	s.cancel()
	s.background.Wait()
	if s.ownClient {
		return s.client.Close()
	}
	return nil
}

// op returns the context of one method's requests.
func (s *Store) op() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.timeout)
}

// key is name under the prefix.
func (s *Store) key(name string) string { return s.prefix + name }

// wrap prefixes an error with the operation, keeping sentinels reachable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("etcd store: %s: %w", op, err)
}

var errTooLarge = errors.New("transaction exceeds etcd's limits")

// Client is the etcd client the Store uses (to join the cluster on the same connection).
func (s *Store) Client() *clientv3.Client { return s.client }

// Prefix is the prefix of every key the Store writes, ending in "/".
func (s *Store) Prefix() string { return s.prefix }

// Package bolt keeps the connector's durable state (package state's domain) in one bbolt file, the
// embedded default: callback subscriptions with their polling cursors, the outbox of deliveries
// they produce, the delivery log, the circuit state of callback endpoints, and the server key that
// authenticates the state carried in polling-trigger URLs. It owns the file's layout, its schema
// version and migrations (with their fixtures in testdata/), and the online backup.
//
// Secrets (HipChat tokens, signing secrets, the server key) are sealed by state.Sealer under a key
// the operator keeps outside the database (see state.LoadOrCreateKeyFile); the file never holds
// them in clear. Recording attempts, recovering and resending run the rules package state shares
// with every backend (state.OutboxTx), over this file's buckets.
//
// A Store is safe for concurrent use. Every method runs one short bbolt
// transaction and returns values that own their memory.
package bolt

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// Layout of the bbolt file (schema version 6; what earlier versions lacked
// or kept elsewhere is in schema.go). Keys and values are bytes;
// "→" separates a key from its value, indentation shows nested buckets.
//
//	meta/
//	  schema_version → uint64, big-endian
//	  server_key     → sealed 32 random bytes (see ServerKey)
//	  restart_state  → a byte, clean (1) or running (0), then what the last process saved at its
//	                   graceful stop (see SaveRestartState)
//	subscriptions/
//	  <subscription id> → JSON SubscriptionRecord; token and secret sealed
//	connections/
//	  <connection id>/                 one bucket per connection
//	    <subscription id> → ""         index for SubscriptionsOf
//	outbox/
//	  <subscription id>/               one bucket per subscription with deliveries; its
//	                                   sequence numbers them (seq)
//	    ids/  <delivery id key> → seq  (dedupe and lookup by webhook-id; the 16 bytes of an id
//	                                   state.DeliveryID made: idKey in sublog.go)
//	    seqs/ <seq, uint64 BE> → queued at, int64 unix nanoseconds BE (its deliveries, in order)
//	log/
//	  <record key> → DeliveryRecord in the compact form of state's deliveryformat.go (pending and
//	                 finished); a record key is <queued at, int64 BE><seq, uint64 BE><subscription
//	                 key>, the subscription key a UUID's 16 bytes after a 0 byte (subKey in due.go)
//	queued/
//	  <record key> → next attempt time, int64 unix nanoseconds BE   (every pending delivery)
//	fifo/
//	  <subscription id>/               present only while a FIFO subscription has work
//	    <seq, uint64 BE> → ""          (its pending deliveries; the first is the head)
//	due/
//	  <subscription key length, uint16 BE><subscription key><time, int64 BE><seq, uint64 BE> → ""
//	                                   (what may go out at that time, by subscription: dueindex.go)
//	heads/
//	  <time, int64 BE><subscription key> → ""   (each subscription's earliest entry in due/)
//	endpoints/
//	  <endpoint key, scheme://host:port> → JSON Endpoint (circuit breaker)
//	known/
//	  <connection id> → ""                 (HipChat accepted its token here: KnownConnections)
//
// A delivery's record key is its due key at the moment it was queued
// (sublog.go): the deliveries one commit queues sit side by side, in the
// order the deliverer takes them, so the attempts one group commit records
// rewrite a few pages of log/ and queued/ between them rather than pages of
// every subscription. The due and heads buckets are what PickDue reads: each
// subscription with work due by now, then its own due deliveries in time
// order, so finding due work never touches delivered history, what waits for
// later, or the queue of a subscription that can take no more.
var (
	bucketMeta          = []byte("meta")
	bucketSubscriptions = []byte("subscriptions")
	bucketConnections   = []byte("connections")
	bucketOutbox        = []byte("outbox")
	bucketLog           = []byte("log")
	bucketQueued        = []byte("queued")
	bucketFIFO          = []byte("fifo")
	bucketDue           = []byte("due")
	bucketHeads         = []byte("heads")
	bucketEndpoints     = []byte("endpoints")
	bucketKnown         = []byte("known")

	bucketOutboxIDs  = []byte("ids")
	bucketOutboxSeqs = []byte("seqs")

	keySchemaVersion = []byte("schema_version")
	keyServerKey     = []byte("server_key")
	keyRestartState  = []byte("restart_state")

	topLevelBuckets = [][]byte{bucketMeta, bucketSubscriptions, bucketConnections, bucketOutbox, bucketLog, bucketQueued, bucketFIFO, bucketDue, bucketHeads, bucketEndpoints, bucketKnown}
)

// Defaults applied by Open to zero Options fields.
const (
	DefaultTimeout         = 5 * time.Second
	defaultServerKeyLength = 32
	initialMmapSize        = 1 << 30
)

// Options configure Open.
type Options struct {
	// Key is the 32-byte AES-256 key that seals tokens, signing secrets and
	// the server key. Required. See LoadOrCreateKeyFile and ParseKey.
	Key []byte
	// Timeout bounds the wait for the file lock held by another process.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock used for CreatedAt and NextAttemptAt stamps.
	// Nil means time.Now.
	Now func() time.Time
	// Retention bounds the finished deliveries Prune keeps.
	Retention state.Retention
	// NoSync skips fsync on commit: a crash can lose or corrupt recent writes. For benchmarks that
	// set up many records quickly; never in production.
	NoSync bool
}

// Store is the bbolt-backed state of the connector.
type Store struct {
	commits   atomic.Uint64 // write transactions committed, for the benchmarks' fsync count
	db        *bbolt.DB
	sealer    *state.Sealer
	serverKey []byte
	now       func() time.Time
	retention state.Retention

	// Decoded subscription records of the delivery hot path (memo.go).
	subscriptionMemo *memo[string, *state.SubscriptionRecord]
	// Each subscription's pending deliveries (backlog.go).
	pending *pendingCounts
}

// Open opens (creating when absent) the bbolt file at path, creates its
// buckets, checks or sets its schema version, and unseals (or generates, for
// a fresh file) the server key.
//
// Errors: ErrInvalid when opts.Key is not 32 bytes; ErrSchemaVersion when the
// file was written by a newer binary; ErrWrongKey when the file was sealed
// with another key; bbolt's ErrTimeout, saying that another process holds the file, when the
// lock is not free within Timeout; a bbolt error when the file is unreadable; a damaged file,
// which bbolt's consistency check (or its open) finds inconsistent, before anything is written to
// it (checkPages), saying to restore a backup.
func Open(path string, opts Options) (*Store, error) {
	sl, err := state.NewSealer(opts.Key)
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Retention = opts.Retention.WithDefaults()
	// A large initial mmap (address space, not memory) means the file grows without remapping,
	// and a remap is what makes readers (the deliverer's, the API's) wait for a writer's commit.
	// bbolt's open panics over a damaged freelist, and leaves the file open and locked then: the
	// error ends the process's start.
	var db *bbolt.DB
	err = refusingDamage(func() (err error) {
		db, err = openAtPath(path, 0o600, &bbolt.Options{Timeout: opts.Timeout, InitialMmapSize: initialMmapSize, NoSync: opts.NoSync})
		return err
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("state: open %s: another process holds the database (is a connector already running with this -db?); "+
			"stop it, or give this one another -db: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	// The first write transaction below commits even when it changes nothing, and a damaged page
	// makes bbolt panic wherever it is read, at start or while serving: check first, read-only.
	if err := refusingDamage(func() error { return db.View(checkPages) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	s := &Store{
		db: db, sealer: sl, now: opts.Now, retention: opts.Retention,
		subscriptionMemo: newMemo[string, *state.SubscriptionRecord](subscriptionMemoLimit),
	}
	if err := db.Update(s.initialize); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	_ = db.View(func(tx *bbolt.Tx) error {
		s.pending = countPending(tx)
		return nil
	})
	return s, nil
}

// initialize creates every bucket, migrates the schema and loads the server
// key, all in the one transaction of Open.
func (s *Store) initialize(tx *bbolt.Tx) error {
	for _, name := range topLevelBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := migrate(tx, meta); err != nil {
		return err
	}
	sealed := meta.Get(keyServerKey)
	if sealed == nil {
		key := make([]byte, defaultServerKeyLength)
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("generate server key: %w", err)
		}
		sealedKey, err := s.sealer.Seal(key, state.SealingServerKey())
		if err != nil {
			return err
		}
		if err := meta.Put(keyServerKey, sealedKey); err != nil {
			return err
		}
		s.serverKey = key
		return nil
	}
	key, err := s.sealer.Open(sealed, state.SealingServerKey())
	if err != nil {
		return fmt.Errorf("unseal server key: %w", err)
	}
	s.serverKey = key
	return nil
}

// update runs fn in a write transaction (bbolt.DB.Update), counting its commit.
func (s *Store) update(fn func(*bbolt.Tx) error) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		tx.OnCommit(s.countCommit)
		return fn(tx)
	})
}

// Commits returns how many write transactions the store has committed since it was opened; each
// is one bbolt commit, two fdatasyncs (pages, then meta page).
func (s *Store) Commits() uint64 { return s.commits.Load() }

func (s *Store) countCommit() { s.commits.Add(1) }

// Close closes the file. Using the Store afterwards returns bbolt's
// ErrDatabaseNotOpen.
func (s *Store) Close() error {
	return s.db.Close()
}

// ServerKey returns the 32 random bytes generated when the file was created.
// The polling triggers use it to authenticate the state they put in URLs; it
// survives restarts and is stored sealed. The caller owns the returned slice.
func (s *Store) ServerKey() []byte {
	return append([]byte(nil), s.serverKey...)
}

// Check runs bbolt's consistency check over the whole file and returns every
// inconsistency found, joined, or nil. It holds the write lock while it runs
// (bbolt's check is only safe beside writers inside a writable transaction),
// so writers wait: a diagnostic for tests and operators, not for every tick.
func (s *Store) Check() error {
	tx, err := s.db.Begin(true)
	if err != nil {
		return fmt.Errorf("state: check: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var errs []error
	for err := range tx.Check() {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("state: check: %w", errors.Join(errs...))
	}
	return nil
}

func u64Key(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

func timeValue(t time.Time) []byte {
	return u64Key(uint64(t.UnixNano()))
}

func valueTime(b []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC() // #nosec G115 -- the bits timeValue wrote from an int64: converting back restores it, negative dates included
}

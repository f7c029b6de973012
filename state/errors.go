package state

import "errors"

// Sentinel errors. Methods wrap them with detail; test with errors.Is.
var (
	// ErrNotFound: the subscription or delivery does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: CreateSubscription was given an id already in use.
	ErrExists = errors.New("already exists")
	// ErrInvalid: an argument is malformed (empty id, unknown kind or
	// status, key of the wrong length...). The message names the field.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotPending: RecordAttempt was called for a delivery that is no
	// longer pending (already delivered or dead).
	ErrNotPending = errors.New("delivery is not pending")
	// ErrAlreadyPending: Resend was called for a delivery still pending.
	ErrAlreadyPending = errors.New("delivery is already pending")
	// ErrSchemaVersion: the file was written by a newer binary, or carries
	// no usable version.
	ErrSchemaVersion = errors.New("unsupported schema version")
	// ErrWrongKey: sealed data cannot be opened with the configured key,
	// i.e. the database was created with another key (or was tampered with).
	ErrWrongKey = errors.New("cannot unseal data: wrong encryption key for this database")
	// ErrUnsupported: the operation is not one this store can do (a backup of
	// an etcd store is etcd's own snapshot); the message says what to do.
	ErrUnsupported = errors.New("not supported by this store")
)

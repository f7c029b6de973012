package state

// What another backend of the store interfaces (etcd) shares with this one, so
// that both validate and account the same way.

// MaxAttemptsKept is how many attempts a delivery's record keeps, the newest.
const MaxAttemptsKept = maxAttemptsKept

// ValidateSubscription checks a subscription as CreateSubscription does
// (after defaults are filled). Errors: ErrInvalid naming the field.
func ValidateSubscription(sub Subscription) error { return validateSubscription(sub) }

// ValidStatus reports whether status is one of the subscription statuses.
func ValidStatus(status string) bool { return validStatus(status) }

// ValidID reports whether id is a usable subscription, connection or endpoint
// id (1 to 256 bytes).
func ValidID(id string) bool { return validID(id) }

// Validate checks that o was built by Delivered, RetryAt, Dead or Disable (or
// equivalent). Errors: ErrInvalid.
func (o Outcome) Validate() error { return o.validate() }

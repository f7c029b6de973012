package state

// Pick is what a listing of due deliveries (a store's PickDue) does with one it comes to, as its
// caller answers. Every backend keeps its due deliveries indexed by subscription, and each
// subscription with due work once in a list ordered by when its earliest is due, so that
// SkipSubscription costs the listing nothing more of that subscription: a deliverer whose endpoint
// is full passes over a queue of any length at the price of one entry.
type Pick uint8

const (
	// Take returns the delivery (its record is read).
	Take Pick = iota
	// Skip passes over the delivery; the listing goes on with the next one due, of the same
	// subscription or another.
	Skip
	// SkipSubscription passes over the delivery and every other delivery of its subscription due in
	// this listing, none of which is asked about.
	SkipSubscription
)

// PickOf turns a skip function (true: pass over) into a pick function that answers Skip or Take;
// nil stays nil (take everything).
func PickOf(skip func(subID string, seq uint64) bool) func(subID string, seq uint64) Pick {
	if skip == nil {
		return nil
	}
	return func(subID string, seq uint64) Pick {
		if skip(subID, seq) {
			return Skip
		}
		return Take
	}
}

package connector

import (
	"context"
	"sync"
)

// maxOwners bounds the owners a Client keeps; beyond it, one entry is dropped for each new one.
const maxOwners = 10_000

// owners keeps, per connection id, whom its token belongs to: a token's owner never changes, so it
// is asked of HipChat once per connection.
type owners struct {
	mu     sync.Mutex
	byConn map[string]ownerEntry
}

type ownerEntry struct {
	user UserStub
	ok   bool
}

func (o *owners) get(id string) (ownerEntry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, found := o.byConn[id]
	return e, found
}

func (o *owners) put(id string, e ownerEntry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byConn == nil {
		o.byConn = map[string]ownerEntry{}
	}
	if len(o.byConn) >= maxOwners {
		for other := range o.byConn {
			delete(o.byConn, other)
			break
		}
	}
	o.byConn[id] = e
}

// TokenOwner returns the user the connection's token belongs to (its Session's owner); ok is false
// for a token of no user: an add-on's or a room's. The answer is kept for the connection, so
// HipChat is asked once. Errors are Session's.
func (c *Client) TokenOwner(ctx context.Context, conn Connection) (owner UserStub, ok bool, err error) {
	if e, found := c.owners.get(conn.ID); found {
		return e.user, e.ok, nil
	}
	s, err := c.Session(ctx, conn)
	if err != nil {
		return UserStub{}, false, err
	}
	e := ownerEntry{}
	if s.Owner != nil && s.Owner.ID != 0 {
		e = ownerEntry{user: *s.Owner, ok: true}
	}
	c.owners.put(conn.ID, e)
	return e.user, e.ok, nil
}

package delivery

import "github.com/hipchat-connector/hipchat-connector/state"

// Fairness between connections. A listing goes through what is due oldest first, over every
// subscription; a connection with a backlog in many subscriptions would fill every listing with its
// older work, and a new event of another connection would wait behind all of it. So one listing
// takes at most as many deliveries of one connection as dispatch has free slots (a connection
// alone still fills them all), and goes on past the rest of that connection's work to what others
// have due; dispatch then starts the listing's deliveries taking the connections in turn, each in
// its own order (so a subscription's order, FIFO's too, is kept).

// connectionOfLocked is the connection of a subscription the deliverer keeps; one it does not keep
// yet counts on its own, named by its subscription id.
func (d *Deliverer) connectionOfLocked(subID string) string {
	if sub := d.subs[subID]; sub != nil {
		return sub.sub.ConnectionID
	}
	return "subscription " + subID
}

// overShare reports whether the listing holds perConnection deliveries of connection conn already.
func (l *listing) overShare(conn string, perConnection int) bool {
	return perConnection > 0 && l.byConnection[conn] >= perConnection
}

// inTurnsLocked orders due so that the connections take turns: the first of each connection, in
// the order they first appear, then the second of each, and so on; each connection's deliveries
// keep their order.
func (d *Deliverer) inTurnsLocked(due []state.Delivery) []state.Delivery {
	if len(due) < 2 || d.oneConnectionLocked(due) {
		return due // the common case of a listing: nothing to reorder, nothing allocated
	}
	var conns []string
	byConn := map[string][]state.Delivery{}
	for _, del := range due {
		conn := d.connectionOfLocked(del.SubscriptionID)
		if _, seen := byConn[conn]; !seen {
			conns = append(conns, conn)
		}
		byConn[conn] = append(byConn[conn], del)
	}
	out := make([]state.Delivery, 0, len(due))
	for turn := 0; len(out) < len(due); turn++ {
		for _, conn := range conns {
			if dels := byConn[conn]; turn < len(dels) {
				out = append(out, dels[turn])
			}
		}
	}
	return out
}

// oneConnectionLocked reports whether every delivery of due is of one connection.
func (d *Deliverer) oneConnectionLocked(due []state.Delivery) bool {
	first := d.connectionOfLocked(due[0].SubscriptionID)
	for _, del := range due[1:] {
		if d.connectionOfLocked(del.SubscriptionID) != first {
			return false
		}
	}
	return true
}

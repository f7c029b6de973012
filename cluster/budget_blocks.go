package cluster

import (
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// encodeBlock is a block's value: its class, its calls and when its lease expires by the
// writer's clock ("background 10 1764579600000"). The expiry only hints how long others wait.
func encodeBlock(class string, calls int, expires time.Time) string {
	return class + " " + strconv.Itoa(calls) + " " + strconv.FormatInt(expires.UnixMilli(), 10)
}

// sumBlocks adds up the calls of a key's live blocks, all classes and of class, and finds the
// soonest expiry. A value it cannot read counts as a whole budget (1<<30 calls): never fewer
// than were reserved.
func sumBlocks(kvs []*mvccpb.KeyValue, class string) (total, ofClass int, soonest time.Time) {
	for _, kv := range kvs {
		fields := strings.Fields(string(kv.Value))
		calls, expires := 1<<30, time.Time{}
		if len(fields) == 3 {
			if n, err := strconv.Atoi(fields[1]); err == nil && n >= 0 {
				calls = n
			}
			if ms, err := strconv.ParseInt(fields[2], 10, 64); err == nil {
				expires = time.UnixMilli(ms)
			}
		}
		total = min(total+calls, 1<<30)
		if len(fields) > 0 && fields[0] == class {
			ofClass = min(ofClass+calls, 1<<30)
		}
		if !expires.IsZero() && (soonest.IsZero() || expires.Before(soonest)) {
			soonest = expires
		}
	}
	return total, ofClass, soonest
}

package server

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Bounds of the file shares in flight. A share's body (its file in base64) is read whole, decoded and
// sent on, so each holds about four times its file in memory until HipChat answers; these keep a
// burst of large files from taking the connector's memory, and one connection from taking every slot.
const (
	maxUploadsInFlight       = 4
	maxUploadsPerConnection  = 2
	uploadRetryAfter         = time.Second
	fileBodyOverhead         = 64 << 10 // the body's other members (message, name) and JSON
	base64EscapeAllowancePct = 5        // JSON may escape "/" as "\/"; line breaks may wrap the base64
)

// fileBodyLimit is the largest body of a file-upload row for files of at most maxFileBytes.
func fileBodyLimit(maxFileBytes int64) int64 {
	encoded := int64(base64.StdEncoding.EncodedLen(int(maxFileBytes)))
	return encoded + encoded*base64EscapeAllowancePct/100 + fileBodyOverhead
}

// actionBodyLimits are the body limits of the file-upload rows of the action table, for limitBody.
func actionBodyLimits(opts Options) map[string]int64 {
	limits := map[string]int64{}
	for _, row := range actionTable {
		if row.fileUpload {
			limits[row.method+" "+row.path] = fileBodyLimit(opts.MaxFileBytes)
		}
	}
	return limits
}

// uploadSlots counts the file shares in flight, in all and per connection.
type uploadSlots struct {
	mu           sync.Mutex
	inFlight     int
	byConnection map[string]int
}

func newUploadSlots() *uploadSlots { return &uploadSlots{byConnection: map[string]int{}} }

// acquire takes a slot for connection and returns its release. Errors: 429 rate_limited with
// Retry-After when all slots, or the connection's share of them, are taken.
func (u *uploadSlots) acquire(connection string) (release func(), err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.inFlight >= maxUploadsInFlight || u.byConnection[connection] >= maxUploadsPerConnection {
		return nil, &apiError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: uploadRetryAfter,
			Message: "too many file shares in flight (the connector takes " + strconv.Itoa(maxUploadsInFlight) + " at once, " +
				strconv.Itoa(maxUploadsPerConnection) + " per connection); retry after Retry-After seconds"}
	}
	u.inFlight++
	u.byConnection[connection]++
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.inFlight--
			if u.byConnection[connection]--; u.byConnection[connection] == 0 {
				delete(u.byConnection, connection)
			}
		})
	}, nil
}

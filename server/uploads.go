package server

import (
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// File shares are read whole, decoded and sent on, so each holds about four times its file in
// memory until HipChat answers. uploadBudget bounds the bodies of the shares in flight, counted in
// bytes: as many as uploadsOfTheLargest files of the largest size at once, proportionally more of
// smaller ones, and one connection at most half of it, so that one flow cannot take every slot.
const (
	uploadsOfTheLargest      = 4
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

// uploadBudget counts the body bytes of the file shares in flight, in all and per connection.
type uploadBudget struct {
	mu           sync.Mutex
	bodyLimit    int64 // the largest body of one share
	inFlight     int64
	byConnection map[string]int64
}

// newUploadBudget returns the budget for files of at most maxFileBytes.
func newUploadBudget(maxFileBytes int64) *uploadBudget {
	return &uploadBudget{bodyLimit: fileBodyLimit(maxFileBytes), byConnection: map[string]int64{}}
}

// total and perConnection are the budget's bounds, in body bytes.
func (u *uploadBudget) total() int64         { return uploadsOfTheLargest * u.bodyLimit }
func (u *uploadBudget) perConnection() int64 { return u.total() / 2 }

// costOf is what a request's body counts against the budget: its Content-Length, or the largest
// body when it is not known (chunked) or larger (it will be refused past the limit anyway).
func (u *uploadBudget) costOf(r *http.Request) int64 {
	if r.ContentLength > 0 && r.ContentLength < u.bodyLimit {
		return r.ContentLength
	}
	return u.bodyLimit
}

// acquire counts cost bytes for connection and returns their release. Errors: 429 rate_limited with
// Retry-After when the budget, or the connection's half of it, cannot take them now.
func (u *uploadBudget) acquire(connection string, cost int64) (release func(), err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.inFlight+cost > u.total() || u.byConnection[connection]+cost > u.perConnection() {
		return nil, &apiError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: uploadRetryAfter,
			Message: "too many file shares in flight (the connector holds their bodies in memory: as many as 4 of the largest at once, half of that per connection); retry after Retry-After seconds"}
	}
	u.inFlight += cost
	u.byConnection[connection] += cost
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.inFlight -= cost
			if u.byConnection[connection] -= cost; u.byConnection[connection] <= 0 {
				delete(u.byConnection, connection)
			}
		})
	}, nil
}

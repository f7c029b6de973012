package testkit

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MeasureLatencies makes n requests with callers goroutines and returns every request's latency and
// the wall time of all. Request i is the calls requests(i, token) returns, made in order and timed
// together, with token tokens[(i/2)%len(tokens)] (so that requests i and i+1, a direct call and the
// action beside it, share one). An answer whose status want refuses, or a call that fails, is the
// error, naming the call; it stops every caller.
func MeasureLatencies(client *http.Client, callers, n int, tokens []string, want func(status int) bool,
	requests func(i int, token string) []*http.Request) ([]time.Duration, time.Duration, error) {
	latencies := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() != nil {
					return
				}
				calls := requests(i, tokens[(i/2)%len(tokens)])
				t0 := time.Now()
				for _, req := range calls {
					if err := callWanted(client, req, want); err != nil {
						failed.Store(err)
						return
					}
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, 0, err
	}
	return latencies, time.Since(start), nil
}

// callWanted makes req and reads its answer whole; an error when it fails or want refuses its status.
func callWanted(client *http.Client, req *http.Request, want func(status int) bool) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !want(resp.StatusCode) {
		return fmt.Errorf("%s %s: status %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return nil
}

// Percentile returns the p-th percentile (nearest rank) of latencies.
func Percentile(latencies []time.Duration, p int) time.Duration {
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

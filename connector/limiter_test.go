package connector

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
)

func newTestLimiter(clock *manualclock.Clock) *Limiter {
	opts := DefaultLimiterOptions()
	opts.Now = clock.Now
	return NewLimiter(opts)
}

// maxInAnyWindow returns the most admitted calls found in any closed interval of length window.
func maxInAnyWindow(times []time.Time, window time.Duration) int {
	best, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) > window {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func TestLimiterNeverAdmitsMoreThanLimitInAnySlidingWindow(t *testing.T) {
	// A token bucket of 100/min with burst 100 admits 100 at once and 100 more as it refills within the
	// same minute: 200 in 60 s. The sliding log must hold any 60 s (indeed any 61 s) to 100, however
	// the attempts are spread.
	patterns := map[string]func(r *rand.Rand) time.Duration{
		"steady every 100ms":     func(*rand.Rand) time.Duration { return 100 * time.Millisecond },
		"bursts then silence":    func(r *rand.Rand) time.Duration { return []time.Duration{0, 0, 0, 7 * time.Second}[r.IntN(4)] },
		"random up to 2s":        func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(int64(2 * time.Second))) },
		"everything at one tick": func(*rand.Rand) time.Duration { return 0 },
	}
	for name, gap := range patterns {
		t.Run(name, func(t *testing.T) {
			clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			l := newTestLimiter(clock)
			r := rand.New(rand.NewPCG(1, 2))
			var admitted []time.Time
			for i := 0; i < 5000; i++ {
				class := Foreground
				if r.IntN(2) == 0 {
					class = Background
				}
				if ok, _ := l.TryAcquire("c1", class); ok {
					admitted = append(admitted, clock.Now())
				}
				clock.Advance(gap(r))
			}
			require.NotEmpty(t, admitted)
			assert.LessOrEqual(t, maxInAnyWindow(admitted, 60*time.Second), 100)
			assert.LessOrEqual(t, maxInAnyWindow(admitted, 61*time.Second), 100)
		})
	}
}

func TestLimiterRetryAfterIsWhenTheNextCallSucceeds(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newTestLimiter(clock)
	for i := 0; i < 90; i++ {
		ok, _ := l.TryAcquire("c1", Foreground)
		require.True(t, ok, "call %d", i)
	}
	ok, retryAfter := l.TryAcquire("c1", Foreground)
	require.False(t, ok, "actions are capped at 90 of the 100")
	assert.Equal(t, 61*time.Second+time.Millisecond, retryAfter)

	clock.Advance(retryAfter - 2*time.Millisecond)
	ok, _ = l.TryAcquire("c1", Foreground)
	assert.False(t, ok, "still inside the window")
	clock.Advance(2 * time.Millisecond)
	ok, _ = l.TryAcquire("c1", Foreground)
	assert.True(t, ok, "the window has moved past the first call")
}

func TestLimiterClassesCannotStarveEachOther(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newTestLimiter(clock)

	// The poller takes all it can: it stops at 75 and actions still get 25.
	background := 0
	for {
		if ok, _ := l.TryAcquire("c1", Background); !ok {
			break
		}
		background++
	}
	assert.Equal(t, 75, background)
	foreground := 0
	for {
		if ok, _ := l.TryAcquire("c1", Foreground); !ok {
			break
		}
		foreground++
	}
	assert.Equal(t, 25, foreground)

	// The other way round: actions stop at 90 and the poller still gets 10.
	clock.Advance(2 * time.Minute)
	foreground, background = 0, 0
	for {
		if ok, _ := l.TryAcquire("c1", Foreground); !ok {
			break
		}
		foreground++
	}
	for {
		if ok, _ := l.TryAcquire("c1", Background); !ok {
			break
		}
		background++
	}
	assert.Equal(t, 90, foreground)
	assert.Equal(t, 10, background)
}

func TestLimiterConnectionsHaveSeparateBudgets(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newTestLimiter(clock)
	for i := 0; i < 90; i++ {
		ok, _ := l.TryAcquire("a", Foreground)
		require.True(t, ok)
	}
	ok, _ := l.TryAcquire("a", Foreground)
	assert.False(t, ok)
	ok, _ = l.TryAcquire("b", Foreground)
	assert.True(t, ok, "b's budget is its own")
}

func TestLimiterBlockUntilHoldsTheConnectionBack(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newTestLimiter(clock)
	l.BlockUntil("a", clock.Now().Add(30*time.Second))
	ok, retryAfter := l.TryAcquire("a", Background)
	assert.False(t, ok)
	assert.Equal(t, 30*time.Second, retryAfter)
	l.BlockUntil("a", clock.Now().Add(10*time.Second)) // earlier: no change
	clock.Advance(29 * time.Second)
	ok, _ = l.TryAcquire("a", Background)
	assert.False(t, ok)
	clock.Advance(time.Second)
	ok, _ = l.TryAcquire("a", Background)
	assert.True(t, ok)
}

func TestLimiterDropsIdleConnections(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newTestLimiter(clock)
	for i := 0; i < 1000; i++ {
		l.TryAcquire(string(rune('a'+i%26))+string(rune(i)), Foreground)
	}
	assert.Equal(t, 1000, l.Connections())
	clock.Advance(6 * time.Minute)
	l.TryAcquire("fresh", Foreground)
	assert.Equal(t, 1, l.Connections(), "idle connections are dropped, the new one kept")
}

func TestLimiterWaitSleepsUntilBudget(t *testing.T) {
	clock := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newTestLimiter(clock)
	var slept time.Duration
	sleep := func(_ context.Context, d time.Duration) error { slept += d; clock.Advance(d); return nil }
	for i := 0; i < 76; i++ {
		require.NoError(t, l.Wait(context.Background(), "a", Background, sleep))
	}
	assert.Equal(t, 61*time.Second+time.Millisecond, slept, "the 76th background call waited for the first to leave the window")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.BlockUntil("a", clock.Now().Add(time.Hour))
	err := l.Wait(ctx, "a", Background, func(ctx context.Context, d time.Duration) error { return ctx.Err() })
	assert.ErrorIs(t, err, context.Canceled)
}

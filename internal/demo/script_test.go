package demo

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDescribeSchedule(t *testing.T) {
	for spec, want := range map[string]string{
		"@every 5s":   "polling every 5s",
		"@every 10s":  "polling every 10s",
		"@every 1m":   "polling every 1m",
		"@every 2h":   "polling every 2h",
		"*/5 * * * *": `polling on the schedule "*/5 * * * *"`,
	} {
		require.Equal(t, want, describeSchedule(spec), spec)
	}
}

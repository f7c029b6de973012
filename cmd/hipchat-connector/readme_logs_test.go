package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README says how the JSON log carries a duration, and serve logs it so: a request line's
// duration_ms is a number of milliseconds (a log query sums and compares it), and the durations of
// the settings are text such as "20s".
func TestReadmeSaysHowTheLogCarriesDurations(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	readme := string(raw)
	assert.True(t, strings.Contains(readme, "`duration_ms` is a number of milliseconds"), "the README says what the request line's duration_ms is")
	assert.False(t, strings.Contains(readme, "Durations are text"), "the README says every duration is text, which duration_ms is not")

	sim := startEmulator(t)
	c := startConnector(t, sim.URL)
	c.do("GET", "/healthz", "", "")
	var request, starting map[string]any
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(c.Logs.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) != nil {
				continue
			}
			switch {
			case entry["msg"] == "request" && entry["route"] == "/healthz":
				request = entry
			case entry["msg"] == "starting":
				starting = entry
			}
		}
		return request != nil && starting != nil
	}, 10*time.Second, 5*time.Millisecond, "the request and starting lines; stderr: %s", c.Logs)
	assert.IsType(t, float64(0), request["duration_ms"], "duration_ms is a JSON number: %v", request)
	config, _ := starting["config"].(map[string]any)
	assert.IsType(t, "", config["callback_timeout"], "a setting's duration is text: %v", starting)
}

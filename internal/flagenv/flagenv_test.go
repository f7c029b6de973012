package flagenv_test

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/internal/flagenv"
)

// TestExplainNamesTheVariableOfEachFlagTheEnvironmentSet: every joined error that names a flag the
// environment set before its colon names the variable too, keeps wrapping its cause, and adds no
// value; a flag from the command line is left as it is.
func TestExplainNamesTheVariableOfEachFlagTheEnvironmentSet(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("poll-schedule", "", "")
	fs.String("etcd-username", "", "")
	fs.String("etcd-password", "", "")
	fs.Duration("retention-max-age", 0, "")
	env := map[string]string{"X_POLL_SCHEDULE": "abc", "X_ETCD_PASSWORD": "pw-secret", "X_RETENTION_MAX_AGE": "-1h"}
	sources, err := flagenv.Parse(fs, []string{"-retention-max-age", "-2h"}, "X_", func(k string) string { return env[k] })
	require.NoError(t, err)

	cause := errors.New("expected exactly 5 fields")
	err = sources.Explain(errors.Join(
		fmt.Errorf("poll-schedule: %w", cause),
		errors.Join(errors.New("etcd-username and etcd-password: give both or neither")),
		errors.New("retention-max-age -2h0m0s: must be positive"),
		errors.New("db: a database path is required"),
	))
	assert.EqualError(t, err, "X_POLL_SCHEDULE (-poll-schedule): expected exactly 5 fields\n"+
		"etcd-username and X_ETCD_PASSWORD (-etcd-password): give both or neither\n"+
		"retention-max-age -2h0m0s: must be positive\n"+
		"db: a database path is required")
	assert.ErrorIs(t, err, cause, "the explained error still wraps its cause")
	assert.NoError(t, sources.Explain(nil))
}

package serveconfig

import "github.com/hipchat-connector/hipchat-connector/internal/flagenv"

// EnvPrefix starts the environment variable that can set each flag of serve (and of definition and
// compact): -poll-schedule is HIPCHAT_CONNECTOR_POLL_SCHEDULE. A flag on the command line wins.
const EnvPrefix = "HIPCHAT_CONNECTOR_"

// KeyEnv holds the database key itself (64 hex characters or base64 of 32 bytes), for deployments
// that keep secrets in the environment rather than in a file.
const KeyEnv = EnvPrefix + "KEY"

// AdminTokenEnv holds the operator credential itself, instead of -admin-token-file.
const AdminTokenEnv = EnvPrefix + "ADMIN_TOKEN"

// EnvName returns the environment variable that sets serve's flag called name.
func EnvName(name string) string { return flagenv.Name(EnvPrefix, name) }

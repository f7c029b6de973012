package main

import (
	"log/slog"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/internal/servestore"
)

// knownTokensEvery is how often the tokens HipChat accepted for the first time are written to the
// store (connector.Client.KeepKnownTokens).
const knownTokensEvery = 5 * time.Second

// resumeClient takes up what the previous process left: the tokens HipChat accepted (every store)
// and, with the bbolt store, the HipChat call windows (connector.Client.ResumeFrom). Errors: the
// store's.
func resumeClient(client *connector.Client, store servestore.Store, logger *slog.Logger) error {
	if err := client.RecallKnownTokens(store); err != nil {
		return err
	}
	rs, ok := store.(connector.RestartStore)
	if !ok {
		return nil
	}
	crashed, err := client.ResumeFrom(rs)
	if crashed {
		logger.Warn("the last run did not stop gracefully: for the first minute the poller waits, so that no token "+
			"exceeds its HipChat budget with the calls made before the crash", "component", "main")
	}
	return err
}

// saveClient keeps the HipChat client's windows in a bbolt store for the next start, after every
// part stopped calling HipChat.
func (p *serveParts) saveClient(store servestore.Store) {
	if rs, ok := store.(connector.RestartStore); ok {
		if err := p.client.SaveTo(rs); err != nil {
			p.logger.Error("saving the HipChat call windows failed: the next start assumes a crash", "component", "main", "err", err)
		}
	}
}

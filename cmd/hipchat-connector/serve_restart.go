package main

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// knownTokensEvery is how often the tokens HipChat accepted for the first time are written to the
// store (connector.Client.KeepKnownTokens).
const knownTokensEvery = 5 * time.Second

// resumeClient takes up what the previous process left: the tokens HipChat accepted (every store)
// and, with the bbolt store, each connection's HipChat calls in the window at a graceful stop, or,
// after a crash, each connection's background share taken as spent for one window.
// Errors: the store's.
func resumeClient(client *connector.Client, store connectorStore, logger *slog.Logger) error {
	if err := client.RecallKnownTokens(store); err != nil {
		return err
	}
	rs, ok := store.(restartStore)
	if !ok {
		return nil
	}
	saved, clean, err := rs.LoadRestartState()
	if err != nil {
		return err
	}
	if !clean {
		client.ResumeAfterCrash()
		logger.Warn("the last run did not stop gracefully: for the first minute the poller waits, so that no token "+
			"exceeds its HipChat budget with the calls made before the crash", "component", "main")
		return nil
	}
	if len(saved) == 0 {
		return nil
	}
	var state connector.RestartState
	if err := json.Unmarshal(saved, &state); err != nil {
		logger.Warn("the HipChat call windows saved at the last stop do not read; starting without them", "component", "main", "err", err)
		client.ResumeAfterCrash()
		return nil
	}
	client.Resume(state)
	return nil
}

// saveClient keeps the HipChat client's windows in a bbolt store for the next start, after every
// part stopped calling HipChat.
func (p *serveParts) saveClient(store connectorStore) {
	rs, ok := store.(restartStore)
	if !ok {
		return
	}
	state, err := json.Marshal(p.client.RestartState())
	if err == nil {
		err = rs.SaveRestartState(state)
	}
	if err != nil {
		p.logger.Error("saving the HipChat call windows failed: the next start assumes a crash", "component", "main", "err", err)
	}
}

package server

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// pollInterval is the Retry-After of a polling trigger with nothing more waiting: the seed's
// "1 trigger poll per 60 seconds".
const pollInterval = 60 * time.Second

// pollMaxItems caps one polling answer, so a backlog of thousands drains over a few quick polls.
const pollMaxItems = 100

// newPolling returns the polling triggers, their states signed with key (a random one when nil).
func newPolling(client *connector.Client, key []byte) (*triggers.Polling, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("making a state key: %w", err)
		}
	}
	codec, err := triggers.NewStateCodec(key)
	if err != nil {
		return nil, fmt.Errorf("polling triggers: %w", err)
	}
	return &triggers.Polling{Source: client, Codec: codec, Interval: pollInterval, MaxItems: pollMaxItems}, nil
}

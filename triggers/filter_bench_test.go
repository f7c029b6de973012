package triggers_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// benchMessages are 1,000 history messages like the acceptance test's room: chatter, with a few
// mentions and keywords among it.
func benchMessages() []connector.Message {
	messages := make([]connector.Message, 1000)
	for i := range messages {
		text := fmt.Sprintf("chatter %d about the release train, dashboards and the weekly sync of the platform team", i)
		var mentions []connector.UserStub
		switch {
		case i%27 == 0:
			text = fmt.Sprintf("@ann the outage %d needs you, see INC-%d", i, i)
			mentions = []connector.UserStub{{ID: ann, MentionName: "ann"}}
		case i%83 == 0:
			text = fmt.Sprintf("Outage in region %d", i)
		}
		m := message("message", text, bob)
		m.Mentions = mentions
		m.ID = fmt.Sprintf("%08d-b71c-423c-ab11-bb2329d00201", i)
		m.Date = "2018-01-10T09:35:50.702319+00:00"
		messages[i] = m
	}
	return messages
}

// BenchmarkFilterMatch measures what a filter costs per message beside the yardstick of what every
// message delivered costs anyway: turning it into the flow's item and encoding it (the payload of a
// delivery or a polling answer). Run in one go, so both see the same machine:
//
//	go test -run '^$' -bench FilterMatch -count 3 ./triggers/
func BenchmarkFilterMatch(b *testing.B) {
	messages := benchMessages()
	filters := map[string]triggers.FilterSpec{
		"mentions": {Mentions: &triggers.UserRef{Given: "me", ID: ann}},
		"keywords": {Keywords: []string{"outage", "incident", "deploy"}},
		"pattern":  {Pattern: `INC-\d+`},
		"all":      {Mentions: &triggers.UserRef{Given: "me", ID: ann}, Keywords: []string{"outage", "incident", "deploy"}, Pattern: `INC-\d+`},
	}
	for _, name := range []string{"mentions", "keywords", "pattern", "all"} {
		f, err := filters[name].Compile()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			kept := 0
			for i := 0; i < b.N; i++ {
				if f.Match(messages[i%len(messages)]) {
					kept++
				}
			}
			b.ReportMetric(float64(kept)/float64(b.N), "kept/msg")
		})
	}
	b.Run("yardstick-item-json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(triggers.NewHistoryItem(triggers.ResolvedRoom{ID: 1, Name: "Ops"}, messages[i%len(messages)])); err != nil {
				b.Fatal(err)
			}
		}
	})
}

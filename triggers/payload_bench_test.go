package triggers

import (
	"encoding/json"
	"testing"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// BenchmarkEncodePayload: the body of one delivery as EncodePayload writes it (no HTML escaping,
// line separators as themselves) beside json.Marshal of the same item, the yardstick of what the
// poller did before. An HTML notification has escapes to leave out; a plain message has none.
func BenchmarkEncodePayload(b *testing.B) {
	room := ResolvedRoom{ID: 7, Name: "Ops Team"}
	items := map[string]HistoryItem{
		"html-notification": {ID: "4f6e9c3a-1b2d-4c5e-8f70-91a2b3c4d5e6", Date: "2026-03-01T12:00:00.000000+00:00", Type: "notification",
			Message: `<b>build #7</b> passed &amp; <a href="https://ci.example.com/7">deployed</a> to <i>production</i>`, MessageFormat: "html",
			Color: "green", From: Author{Name: "CI"}, Mentions: []connector.UserStub{}, RoomID: room.ID, RoomName: room.Name},
		"plain-message": {ID: "5a7f0d4b-2c3e-4d6f-9081-a2b3c4d5e6f7", Date: "2026-03-01T12:00:01.000000+00:00", Type: "message",
			Message: "deploy 42 of the billing service finished, @ann can you check the dashboard?", From: Author{ID: 3, MentionName: "bob", Name: "Bob Stone"},
			Mentions: []connector.UserStub{{ID: 2, MentionName: "ann", Name: "Ann Lee", Version: "00000001"}}, RoomID: room.ID, RoomName: room.Name},
	}
	for name, item := range items {
		b.Run(name+"/yardstick-json.Marshal", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := json.Marshal(item); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/EncodePayload", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := EncodePayload(item); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

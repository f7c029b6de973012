package hipchatsim

import _ "embed"

//go:embed testdata/fixtures-example.json
var fixturesExample []byte

// FixturesExample returns a complete fixtures file for a newcomer to copy (what
// "hipchat-connector sim -fixtures-example" prints): two users with tokens, an add-on client that
// may register jwt webhooks, a public room with messages, a notification, a file and a deleted
// message, a private room with authenticated files, and an archived room. It never fails.
func FixturesExample() []byte { return append([]byte(nil), fixturesExample...) }

package hipchatsim

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// TestAuthenticatedFiles: with Options.AuthenticatedFiles (sim -authenticated-files), or in a room
// whose fixtures ask for it, a file share appears in history as authenticated_file {id, name, size}
// instead of file (spec §3.1).
func TestAuthenticatedFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		option bool
		room   string
		secure bool
	}{
		{"plain by default", false, "Plain", false},
		{"a secure room", false, "Secure", true},
		{"every room with the option", true, "Plain", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, func(o *Options) {
				o.AuthenticatedFiles = tc.option
				o.Fixtures = &Fixtures{Rooms: []FixtureRoom{{Name: "Plain"}, {Name: "Secure", AuthenticatedFiles: true}}}
			})
			hc := simclient.New(s.ts.URL)
			require.NoError(t, hc.ShareFile(context.Background(), s.admin, tc.room, "plan.png", "image/png", onePixelPNG, "the plan"))
			var page struct {
				Items []map[string]any `json:"items"`
			}
			require.NoError(t, json.Unmarshal(s.must(200, "GET", "/v2/room/"+tc.room+"/history/latest", s.admin, nil).body, &page))
			require.Len(t, page.Items, 1)
			item := page.Items[0]
			if !tc.secure {
				require.Contains(t, item, "file")
				require.NotContains(t, item, "authenticated_file")
				return
			}
			require.NotContains(t, item, "file")
			af := item["authenticated_file"].(map[string]any)
			require.Len(t, af["id"], 36)
			require.Equal(t, "plan.png", af["name"])
			require.Equal(t, float64(len(onePixelPNG)), af["size"])
			require.Len(t, af, 3)
		})
	}
}

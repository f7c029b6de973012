package swagger

import (
	"bytes"
	"encoding/json"
	"image/png"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIconIsAHipChatBluePNGTheWizardTakes(t *testing.T) {
	raw := Icon()
	assert.Less(t, len(raw), 1<<20, "the wizard takes icons under 1 MB")
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	bounds := img.Bounds()
	assert.GreaterOrEqual(t, bounds.Dx(), 230)
	assert.Equal(t, bounds.Dx(), bounds.Dy(), "square")

	r, g, b, _ := img.At(2, 2).RGBA()
	assert.Equal(t, [3]uint32{0x20, 0x50, 0x81}, [3]uint32{r >> 8, g >> 8, b >> 8}, "the corner is HipChat's blue")
	r, g, b, _ = img.At(IconSize/2, IconSize/2).RGBA()
	assert.Equal(t, [3]uint32{0xff, 0xff, 0xff}, [3]uint32{r >> 8, g >> 8, b >> 8}, "the middle is the white bubble")

	var props struct {
		Properties struct {
			IconBrandColor string `json:"iconBrandColor"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(Properties(), &props))
	assert.Equal(t, "#205081", strings.ToLower(props.Properties.IconBrandColor), "the icon's blue is the brand colour")

	raw[0] = 'x'
	assert.NotEqual(t, byte('x'), Icon()[0], "Icon returns a copy")
}

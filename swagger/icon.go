package swagger

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"
)

// IconFile is the icon's file name beside the definition; paconn takes it with --icon and the
// import wizard on its General page.
const IconFile = "icon.png"

// IconSize is the icon's width and height in pixels: the wizard wants at least 230.
const IconSize = 256

// IconBackground is the icon's background, HipChat's blue, the iconBrandColor of apiProperties.json.
var IconBackground = color.RGBA{R: 0x20, G: 0x50, B: 0x81, A: 0xff}

// Icon returns the connector's icon as PNG: a white chat bubble on HipChat's blue. It is drawn here
// rather than kept as a binary file, so that its colour and size are the ones the tests check.
func Icon() []byte {
	return bytes.Clone(iconPNG())
}

var iconPNG = sync.OnceValue(func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, IconSize, IconSize))
	white := color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	for y := 0; y < IconSize; y++ {
		for x := 0; x < IconSize; x++ {
			c := IconBackground
			if inBubble(float64(x)+0.5, float64(y)+0.5) {
				c = white
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory RGBA image cannot fail
	}
	return buf.Bytes()
})

// inBubble reports whether the point is in the chat bubble: a rounded rectangle with a tail at its
// lower left.
func inBubble(x, y float64) bool {
	const left, top, right, bottom, radius = 48.0, 60.0, 208.0, 172.0, 30.0
	if x >= left && x <= right && y >= top && y <= bottom {
		cx := min(max(x, left+radius), right-radius)
		cy := min(max(y, top+radius), bottom-radius)
		return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= radius*radius
	}
	// the tail: a triangle from the bubble's bottom edge down to a point
	return inTriangle(x, y, [3][2]float64{{84, bottom - 1}, {128, bottom - 1}, {72, 212}})
}

func inTriangle(x, y float64, t [3][2]float64) bool {
	side := func(a, b [2]float64) float64 { return (b[0]-a[0])*(y-a[1]) - (b[1]-a[1])*(x-a[0]) }
	d1, d2, d3 := side(t[0], t[1]), side(t[1], t[2]), side(t[2], t[0])
	hasNeg := d1 < 0 || d2 < 0 || d3 < 0
	hasPos := d1 > 0 || d2 > 0 || d3 > 0
	return !(hasNeg && hasPos)
}

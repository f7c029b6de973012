package state

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// A delivery record's text (its event id, type, note and payload: deliveryformat.go) is compressed
// with S2 (github.com/klauspost/compress/s2, a Snappy successor) primed with textDictionary: a
// payload of a few hundred bytes has too little in it to compress well alone, but most of it is the
// keys and shapes the poller writes every time, which the dictionary holds. S2 encodes such a text
// in a couple of microseconds and decodes it in a fraction of one (compress/flate with a dictionary
// took ten times longer for a like size).
//
// The dictionary is part of the stored form: records compressed with it decode only with it. To
// change it, add a second one under a new record format and keep this one for the records written
// with it.
const textDictionary = `{"id":0,"name":"","privacy":"public","is_archived":false}{"id":0,"name":"","privacy":"private","is_archived":true}` +
	`room.created file.uploaded test{"test":true,"subscription_id":"","message":"This is a test event"}` +
	`{"id":"","date":"2026-01-01T00:00:00.000000+00:00","type":"notification","message":"","message_format":"html","color":"yellow",` +
	`"from":{"id":0,"mention_name":"","name":""},"mentions":[],"room_id":""}` +
	`{"id":"","date":"2026-01-01T00:00:00.000000+00:00","type":"message","message":"","message_format":"text",` +
	`"from":{"id":0,"mention_name":"","name":""},"file":{"name":"","url":"https://","size":0,"thumb_url":"https://"},` +
	`"authenticated_file":{"id":"","name":"","size":0},"mentions":[{"id":0,"mention_name":"","name":""}],"room_id":""}` +
	`message.posted{"id":"00000000-0000-0000-0000-000000000000","date":"2026-01-01T00:00:00.000000+00:00","type":"message","message":"",` +
	`"from":{"id":0,"mention_name":"","name":""},"mentions":[],"room_id":"0"}`

// textDict is textDictionary as S2 uses it; its first repeat offset is the dictionary's start.
var textDict = s2.MakeDictManual([]byte(textDictionary), 0)

// maxTextSize bounds a text decompressed from a record: the length a damaged record claims is not
// allocated beyond it.
const maxTextSize = 64 << 20

// compressText returns text compressed, and whether that is shorter than text (when not, the
// caller keeps text as it is).
func compressText(text []byte) ([]byte, bool) {
	if len(text) > maxTextSize {
		return nil, false
	}
	compressed := textDict.Encode(nil, text)
	return compressed, len(compressed) < len(text)
}

// decompressText is the text compressText compressed. Errors: a damaged block.
func decompressText(block []byte) ([]byte, error) {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	if n > maxTextSize {
		return nil, errors.New("text: longer than a record's text may be")
	}
	text, err := textDict.Decode(nil, block)
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	return text, nil
}

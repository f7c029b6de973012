package triggers

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// fuzzCodec signs the states the fuzz targets start from.
func fuzzCodec(f *testing.F) *StateCodec {
	codec, err := NewStateCodec(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	return codec
}

// stateErrors are the refusals a polling state may get; anything else is a bug.
var stateErrors = []error{ErrStateMalformed, ErrStateForged, ErrStateVersion, ErrStateConnection, ErrStateTarget, ErrStateFilter}

func isStateError(err error) bool {
	for _, want := range stateErrors {
		if errors.Is(err, want) {
			return true
		}
	}
	return false
}

// FuzzDecodeMessagesState: a state string from a caller's URL never panics, and is either the
// cursor it was signed with or one of the documented refusals.
func FuzzDecodeMessagesState(f *testing.F) {
	codec := fuzzCodec(f)
	cursor := MessageCursor{LastID: "5f7586a8-b71c-423c-ab11-bb2329d00201", Date: time.Date(2018, 1, 4, 10, 16, 2, 0, time.UTC), AtDate: 3}
	f.Add(codec.EncodeMessages("conn_a", KindMessage, "12", MessageState{Cursor: cursor, Room: ResolvedRoom{ID: 12, Name: "Ops"}}), "conn_a", "12")
	f.Add(codec.EncodeMessages("conn_a", KindFile, "Ops Team", MessageState{}), "conn_a", "Ops Team")
	f.Add(codec.EncodeRooms("conn_a", RoomCursor{MaxID: 4}), "conn_a", "")
	f.Add("", "", "")
	f.Add(".", "c", "r")
	f.Add("eyJ2IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", "conn_a", "12")
	f.Fuzz(func(t *testing.T, state, connID, room string) {
		for _, kind := range []Kind{KindMessage, KindFile} {
			got, err := codec.DecodeMessages(state, connID, kind, room, FilterSpec{})
			if err != nil {
				if !isStateError(err) {
					t.Fatalf("DecodeMessages: undocumented error %v", err)
				}
				continue
			}
			// Accepted: it must be exactly what this codec signs for that place.
			if again := codec.EncodeMessages(connID, kind, room, got); again == "" {
				t.Fatal("re-encoding an accepted cursor gave nothing")
			}
		}
	})
}

// FuzzDecodeRoomsState is FuzzDecodeMessagesState for OnNewRoom's state.
func FuzzDecodeRoomsState(f *testing.F) {
	codec := fuzzCodec(f)
	f.Add(codec.EncodeRooms("conn_a", RoomCursor{MaxID: 4}), "conn_a")
	f.Add(codec.EncodeMessages("conn_a", KindMessage, "12", MessageState{}), "conn_a")
	f.Add("x.y", "conn_a")
	f.Fuzz(func(t *testing.T, state, connID string) {
		if _, err := codec.DecodeRooms(state, connID); err != nil && !isStateError(err) {
			t.Fatalf("DecodeRooms: undocumented error %v", err)
		}
	})
}

// FuzzSignedStatePayload reaches past the signature: any payload this connector might have signed
// (an older or a buggy version's) decodes to a cursor or a documented refusal, never a panic.
func FuzzSignedStatePayload(f *testing.F) {
	codec := fuzzCodec(f)
	target := shortHash(string(KindMessage) + "\x00" + "12")
	conn := shortHash("conn_a")
	f.Add([]byte(`{"v":1,"c":"` + conn + `","t":"` + target + `","m":{"id":"x","d":"2018-01-04T10:16:02Z","n":2}}`))
	f.Add([]byte(`{"v":1,"c":"` + conn + `","t":"` + target + `","m":null}`))
	f.Add([]byte(`{"v":1,"c":"` + conn + `","t":"` + target + `","m":{"n":-9223372036854775808,"u":"0001-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"c":"` + conn + `","t":"` + target + `","m":{},"rm":{"id":-1,"name":7}}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		body := stateEncoding.EncodeToString(payload)
		state := body + "." + stateEncoding.EncodeToString(codec.sign(body))
		if _, err := codec.DecodeMessages(state, "conn_a", KindMessage, "12", FilterSpec{}); err != nil && !isStateError(err) {
			t.Fatalf("DecodeMessages: undocumented error %v", err)
		}
		if _, err := codec.DecodeRooms(state, "conn_a"); err != nil && !isStateError(err) {
			t.Fatalf("DecodeRooms: undocumented error %v", err)
		}
	})
}

// FuzzDecodeMessageCursor: a stored cursor (bytes from the database, possibly torn or from another
// version) never panics, and one that decodes survives a round trip unchanged.
func FuzzDecodeMessageCursor(f *testing.F) {
	f.Add(EncodeMessageCursor(MessageCursor{LastID: "a", Date: time.Date(2018, 1, 4, 10, 16, 2, 809766000, time.UTC), AtDate: 2}))
	f.Add(EncodeMessageCursor(MessageCursor{}))
	f.Add(EncodeMessageCursor(MessageCursor{Upper: time.Date(2018, 1, 5, 0, 0, 0, 0, time.UTC)}))
	f.Add([]byte(`{"id":`))
	f.Add([]byte(`{"d":"not a date"}`))
	f.Add([]byte(`{"max_id":3}`))
	f.Fuzz(func(t *testing.T, stored []byte) {
		c, err := DecodeMessageCursor(stored)
		if err != nil {
			return
		}
		again, err := DecodeMessageCursor(EncodeMessageCursor(c))
		if err != nil {
			t.Fatalf("a decoded cursor does not decode again: %v", err)
		}
		if again.LastID != c.LastID || !again.Date.Equal(c.Date) || again.AtDate != c.AtDate || !again.Upper.Equal(c.Upper) {
			t.Fatalf("round trip changed the cursor: %+v → %+v", c, again)
		}
		_ = c.before(again)
	})
}

// FuzzDecodeRoomCursor is FuzzDecodeMessageCursor for OnNewRoom's stored cursor.
func FuzzDecodeRoomCursor(f *testing.F) {
	f.Add(EncodeRoomCursor(RoomCursor{MaxID: 12}))
	f.Add([]byte(`{"max_id":-1}`))
	f.Add([]byte(`{"max_id":1e400}`))
	f.Fuzz(func(t *testing.T, stored []byte) {
		c, err := DecodeRoomCursor(stored)
		if err != nil {
			return
		}
		if again, err := DecodeRoomCursor(EncodeRoomCursor(c)); err != nil || again != c {
			t.Fatalf("round trip: %+v → %+v, %v", c, again, err)
		}
	})
}

package triggers

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPollStateRoundTripsAndRefusesTamperedOrMisplacedStates(t *testing.T) {
	codec, err := NewStateCodec(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	cursor := MessageCursor{LastID: "5f7586a8-b71c-423c-ab11-bb2329d00201", Date: time.Date(2018, 1, 4, 10, 16, 2, 809766000, time.UTC), AtDate: 3}
	state := codec.EncodeMessages("conn_a", KindMessage, "12", MessageState{Cursor: cursor, Room: ResolvedRoom{ID: 12, Name: "Ops"}})
	assert.NotContains(t, state, "conn_a")
	for _, r := range state {
		assert.True(t, strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", r), "URL-safe: %q", r)
	}

	decoded, err := codec.DecodeMessages(state, "conn_a", KindMessage, "12", FilterSpec{})
	require.NoError(t, err)
	got := decoded.Cursor
	assert.Equal(t, cursor.LastID, got.LastID)
	assert.True(t, cursor.Date.Equal(got.Date))
	assert.Equal(t, 3, got.AtDate)
	assert.Equal(t, ResolvedRoom{ID: 12, Name: "Ops"}, decoded.Room, "the state carries the resolved room")

	other, _ := NewStateCodec(bytes.Repeat([]byte{8}, 32))
	flipped := []byte(state)
	flipped[5] ^= 1
	cases := map[string]struct {
		state, conn, room string
		kind              Kind
		codec             *StateCodec
		want              error
	}{
		"truncated":            {state[:len(state)-4], "conn_a", "12", KindMessage, codec, ErrStateMalformed},
		"no signature":         {strings.Split(state, ".")[0], "conn_a", "12", KindMessage, codec, ErrStateMalformed},
		"edited":               {string(flipped), "conn_a", "12", KindMessage, codec, ErrStateForged},
		"another server's key": {state, "conn_a", "12", KindMessage, other, ErrStateForged},
		"another connection":   {state, "conn_b", "12", KindMessage, codec, ErrStateConnection},
		"another room":         {state, "conn_a", "13", KindMessage, codec, ErrStateTarget},
		"another trigger":      {state, "conn_a", "12", KindFile, codec, ErrStateTarget},
		"garbage":              {"%%%", "conn_a", "12", KindMessage, codec, ErrStateMalformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tc.codec.DecodeMessages(tc.state, tc.conn, tc.kind, tc.room, FilterSpec{})
			assert.ErrorIs(t, err, tc.want)
		})
	}

	roomState := codec.EncodeRooms("conn_a", RoomCursor{MaxID: 42})
	rc, err := codec.DecodeRooms(roomState, "conn_a")
	require.NoError(t, err)
	assert.Equal(t, 42, rc.MaxID)
	_, err = codec.DecodeMessages(roomState, "conn_a", KindMessage, "12", FilterSpec{})
	assert.ErrorIs(t, err, ErrStateTarget, "a room state is not a message state")
}

func TestStateCodecNeedsAKey(t *testing.T) {
	_, err := NewStateCodec(nil)
	assert.Error(t, err)
}

package state

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// formatCases are records every stored form must give back as they were.
func formatCases() []struct {
	name string
	rec  DeliveryRecord
} {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	message := json.RawMessage(`{"id":"e1","date":"2026-03-01T12:00:00.123456+00:00","type":"message","message":"deploy 12 done",` +
		`"from":{"id":2,"mention_name":"dee","name":"Dee Park"},"mentions":[],"room_id":"7"}`)
	return []struct {
		name string
		rec  DeliveryRecord
	}{
		{"new", DeliveryRecord{
			ID: DeliveryID("sub", "e1"), EventID: "e1", Type: "message.posted", Body: message,
			Status: DeliveryPending, NextAttemptAt: at, CreatedAt: at, QueuedAt: at,
		}},
		{"retried, with a note and an id of its own", DeliveryRecord{
			ID: "msg_y", EventID: "é\u2028\"<>&", Type: "room.created", Body: json.RawMessage(`[1,2]`),
			CatchUpNote: "12 skipped", Status: DeliveryPending, RoundAttempts: 2,
			Attempts: []Attempt{
				{At: at, StatusCode: 503, Error: "Service Unavailable", Duration: time.Millisecond},
				{At: at.Add(time.Second), Error: "no answer within 10s", Duration: 10 * time.Second},
			},
			NextAttemptAt: at.Add(time.Minute), CreatedAt: at, QueuedAt: at,
		}},
		{"delivered", DeliveryRecord{
			ID: DeliveryID("sub", "e1"), EventID: "e1", Type: "message.posted", Body: message, Status: DeliveryDelivered,
			RoundAttempts: 1, Attempts: []Attempt{{At: at.Add(1500 * time.Microsecond), StatusCode: 204, Duration: time.Millisecond}},
			CreatedAt: at, QueuedAt: at, DeliveredAt: at.Add(1500 * time.Microsecond),
		}},
		{"resent and delivered before an attempt after it", DeliveryRecord{
			ID: "msg_z", Body: json.RawMessage(`{}`), Status: DeliveryDelivered, RoundAttempts: 1,
			Attempts:  []Attempt{{At: at, StatusCode: 204}, {At: at.Add(time.Hour), StatusCode: 500}},
			CreatedAt: at.Add(-time.Hour), QueuedAt: at, DeliveredAt: at,
		}},
		{"not JSON", DeliveryRecord{ID: "msg_w", Payload: []byte("not json \x00\xff"), Status: DeliveryDead}},
		{"empty", DeliveryRecord{}},
		{"a status of its own", DeliveryRecord{ID: "msg_v", Status: "parked"}},
		{"before 1970, and far from created", DeliveryRecord{
			CreatedAt: time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC), QueuedAt: time.Date(2250, 1, 1, 0, 0, 0, 1, time.UTC),
			Attempts: []Attempt{{At: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}},
		}},
	}
}

func TestDeliveryRecordsDecodeAsTheyWereEncoded(t *testing.T) {
	for _, tt := range formatCases() {
		t.Run(tt.name, func(t *testing.T) {
			v := EncodeDeliveryRecord("sub", &tt.rec)
			got, err := DecodeDeliveryRecord("sub", v)
			require.NoError(t, err)
			got.packed = nil
			assert.Equal(t, tt.rec, *got)
			for i := range v[:len(v)-1] {
				_, err := DecodeDeliveryRecord("sub", v[:i])
				assert.Error(t, err, "truncated after %d of %d bytes", i, len(v))
			}
			_, err = DecodeDeliveryRecord("sub", append(v, 0))
			assert.ErrorContains(t, err, "after the record")
		})
	}
	_, err := DecodeDeliveryRecord("sub", []byte(`{"id":"msg_x"}`))
	assert.ErrorContains(t, err, "unknown record format", "a version-3 record is the migration's to read")
}

// TestVersion4RecordsStillDecode: the form of bbolt schema version 4, which its migration reads.
func TestVersion4RecordsStillDecode(t *testing.T) {
	for _, tt := range formatCases() {
		v := encodeDeliveryRecordV4(&tt.rec)
		got, err := DecodeDeliveryRecord("sub", v)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.rec, *got, tt.name)
	}
}

// TestADeliveredMessageIsStoredSmall: what the form saves on an ordinary message, delivered: the
// id computed again, the event id and the JSON's keys compressed away, the times a few bytes each.
func TestADeliveredMessageIsStoredSmall(t *testing.T) {
	rec := formatCases()[2].rec
	v5, v4 := EncodeDeliveryRecord("sub", &rec), encodeDeliveryRecordV4(&rec)
	assert.Less(t, len(v5), len(rec.Body), "smaller than its payload alone")
	assert.Less(t, len(v5)*2, len(v4), "less than half the version-4 form: %d bytes, %d", len(v5), len(v4))
	other := rec
	other.ID = "msg_not-derived"
	assert.Greater(t, len(EncodeDeliveryRecord("sub", &other)), len(v5), "an id of its own is stored")
}

// TestRecordingAnAttemptKeepsTheCompressedText: the text is compressed once; encoding a decoded
// record again with a new attempt reuses it, and a changed payload is compressed anew.
func TestRecordingAnAttemptKeepsTheCompressedText(t *testing.T) {
	rec := formatCases()[0].rec
	v := EncodeDeliveryRecord("sub", &rec)
	read, err := DecodeDeliveryRecord("sub", v)
	require.NoError(t, err)
	require.NotNil(t, read.packed)
	read.ApplyAttempt(&SubscriptionRecord{}, Attempt{At: rec.CreatedAt.Add(time.Second), StatusCode: 204}, Delivered())
	again := EncodeDeliveryRecord("sub", read)
	assert.True(t, bytes.Contains(again, read.packed.block), "the same compressed text")
	back, err := DecodeDeliveryRecord("sub", again)
	require.NoError(t, err)
	assert.Equal(t, rec.Body, back.Body)
	assert.Equal(t, DeliveryDelivered, back.Status)

	fresh := formatCases()[0].rec
	fresh.Pack("sub")
	require.NotNil(t, fresh.packed, "packed before the transaction that writes it")
	assert.True(t, bytes.Contains(EncodeDeliveryRecord("sub", &fresh), fresh.packed.block))

	back.Body = json.RawMessage(`{"id":"changed"}`)
	changed, err := DecodeDeliveryRecord("sub", EncodeDeliveryRecord("sub", back))
	require.NoError(t, err)
	assert.Equal(t, `{"id":"changed"}`, string(changed.Body))
}

// FuzzDecodeDeliveryRecord: any bytes decode to a record or an error, never a panic, and what
// decodes encodes again to a record that decodes alike.
func FuzzDecodeDeliveryRecord(f *testing.F) {
	for _, tt := range formatCases() {
		f.Add(EncodeDeliveryRecord("sub", &tt.rec))
		f.Add(encodeDeliveryRecordV4(&tt.rec))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		rec, err := DecodeDeliveryRecord("sub", v)
		if err != nil {
			return
		}
		again, err := DecodeDeliveryRecord("sub", EncodeDeliveryRecord("sub", rec))
		require.NoError(t, err)
		assert.Equal(t, rec.payloadBytes(), again.payloadBytes())
		assert.Equal(t, rec.ID, again.ID)
	})
}

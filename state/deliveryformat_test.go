package state

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeliveryRecordsDecodeAsTheyWereEncoded(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		rec  DeliveryRecord
	}{
		{"new", DeliveryRecord{
			ID: "msg_x", EventID: "e1", Type: "message.created", Body: json.RawMessage(`{"id":"e1"}`),
			Status: DeliveryPending, NextAttemptAt: at, CreatedAt: at, QueuedAt: at,
		}},
		{"retried, with a note", DeliveryRecord{
			ID: "msg_y", EventID: "é\u2028\"<>&", Type: "room.created", Body: json.RawMessage(`[1,2]`),
			CatchUpNote: "12 skipped", Status: DeliveryPending, RoundAttempts: 2,
			Attempts: []Attempt{
				{At: at, StatusCode: 503, Error: "Service Unavailable", Duration: time.Millisecond},
				{At: at.Add(time.Second), Error: "no answer within 10s", Duration: 10 * time.Second},
			},
			NextAttemptAt: at.Add(time.Minute), CreatedAt: at, QueuedAt: at,
		}},
		{"delivered", DeliveryRecord{
			ID: "msg_z", Body: json.RawMessage(`{}`), Status: DeliveryDelivered, RoundAttempts: 1,
			Attempts: []Attempt{{At: at, StatusCode: 204}}, CreatedAt: at, QueuedAt: at, DeliveredAt: at,
		}},
		{"not JSON", DeliveryRecord{ID: "msg_w", Payload: []byte("not json \x00\xff"), Status: DeliveryDead}},
		{"empty", DeliveryRecord{}},
		{"before 1970", DeliveryRecord{CreatedAt: time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := EncodeDeliveryRecord(&tt.rec)
			got, err := DecodeDeliveryRecord(v)
			require.NoError(t, err)
			assert.Equal(t, tt.rec, *got)
			for i := range v[:len(v)-1] {
				_, err := DecodeDeliveryRecord(v[:i])
				assert.Error(t, err, "truncated after %d of %d bytes", i, len(v))
			}
			_, err = DecodeDeliveryRecord(append(v, 0))
			assert.ErrorContains(t, err, "after the record")
		})
	}
	_, err := DecodeDeliveryRecord([]byte(`{"id":"msg_x"}`))
	assert.ErrorContains(t, err, "unknown record format", "a version-3 record is the migration's to read")
}

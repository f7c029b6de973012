package bolt

import "testing"

// TestSubKeyRoundTrips: a canonical UUID takes 17 bytes, every other id itself (escaped when it
// starts with a 0 or 1 byte), and each reads back as written.
func TestSubKeyRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		id   string
		size int
	}{
		{"4a1c5e7e-9b1d-4f3e-8a2b-0c6d7e8f9a01", 17},
		{"4A1C5E7E-9B1D-4F3E-8A2B-0C6D7E8F9A01", 36}, // a UUID, but not as the API writes one
		{"4a1c5e7e-9b1d-4f3e-8a2b-0c6d7e8f9a0", 35},
		{"4a1c5e7e_9b1d-4f3e-8a2b-0c6d7e8f9a01", 36},
		{"v5-more", 7},
		{"\x00odd", 5},
		{"\x01odd", 5},
	} {
		key := appendSubKey(nil, tc.id)
		if len(key) != tc.size {
			t.Errorf("%q takes %d bytes, want %d", tc.id, len(key), tc.size)
		}
		for range 2 { // the second read of a UUID comes from uuidTexts
			if got, ok := parseSubKey(key); !ok || got != tc.id {
				t.Errorf("%q reads back as %q, %v", tc.id, got, ok)
			}
		}
	}
	if _, ok := parseSubKey([]byte{subKeyUUID, 1, 2}); ok {
		t.Error("a UUID key form of 3 bytes is read")
	}
}

package hipchatsim

import "testing"

func TestSmoke(t *testing.T) {
	s := newSim(t)
	s.createUser("Ann Lee", "ann@example.com", "ann")
	tok := s.userToken("ann@example.com", "ann")
	s.createRoom(tok, "General", "public")
	s.post(tok, "General", "hello @admin")
	r := s.must(200, "GET", "/v2/room/General/history/latest", tok, nil)
	t.Logf("%s", r.body)
	r = s.must(200, "GET", "/v2/room/1", tok, nil)
	t.Logf("%s", r.body)
	r = s.must(200, "GET", "/_sim/calls", "", nil)
	t.Logf("%s", r.body)
}

package connector

import (
	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// acceptJSON is the Accept header of every HipChat call, shared: the transport only reads it.
var acceptJSON = []string{"application/json"}

// decodeV1 makes the decoder read as encoding/json does: field names matched without regard to case,
// invalid UTF-8 replaced rather than refused, duplicate names allowed (the last wins). HipChat's
// answers were always read that way.
var decodeV1 = jsonv1.DefaultOptionsV1()

// decodeAnswer decodes HipChat's JSON answer into out, as encoding/json's Unmarshal would. It uses
// the json v2 implementation (github.com/go-json-experiment/json, the Go team's module that
// encoding/json/v2 comes from) with v1's semantics: about twice as fast on the idle poll's small
// pages, which every feed reads every tick (BENCHMARKS.md, idle tick). Errors: the decoder's, for
// an answer that is not JSON or does not fit out.
func decodeAnswer(payload []byte, out any) error {
	return jsonv2.Unmarshal(payload, out, decodeV1)
}

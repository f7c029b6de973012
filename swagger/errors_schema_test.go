package swagger

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// TestErrorResponsesReferenceTheErrorSchema: every 4xx and 5xx answer of every operation has the
// Error schema, so generated clients type errors instead of treating them as void.
func TestErrorResponsesReferenceTheErrorSchema(t *testing.T) {
	raw, err := os.ReadFile("apiDefinition.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths       map[string]map[string]json.RawMessage `json:"paths"`
		Definitions map[string]json.RawMessage            `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Definitions["Error"]; !ok {
		t.Fatal("no Error definition")
	}
	checked := 0
	for path, ops := range doc.Paths {
		for method, rawOp := range ops {
			var op struct {
				Responses map[string]struct {
					Schema *struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"responses"`
			}
			if json.Unmarshal(rawOp, &op) != nil {
				continue // "parameters" of a path
			}
			for code, resp := range op.Responses {
				if n, err := strconv.Atoi(code); err != nil || n < 400 {
					continue // "default" stays without a schema, as the contract asks
				}
				checked++
				if resp.Schema == nil || resp.Schema.Ref != "#/definitions/Error" {
					t.Errorf("%s %s %s: no $ref to #/definitions/Error", method, path, code)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d error responses checked", checked)
	}
}

package swagger

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Operation is one operation of the connector definition.
type Operation struct {
	ID     string // operationId, the key flows use: never renamed
	Method string // HTTP method, upper case: GET, POST, PUT, DELETE
	Path   string // swagger path relative to basePath, with {param} segments: /rooms/{roomId}/members
	// Trigger is the x-ms-trigger value: "batch" for polling triggers, "single" for callback
	// subscriptions, "" for actions and internal operations.
	Trigger string
	// Internal is true for operations hidden from the designer (x-ms-visibility: internal).
	Internal bool
}

// RoutePath returns Path in the colon syntax of Gin and httprouter: /rooms/:roomId/members.
func (o Operation) RoutePath() string {
	segments := strings.Split(o.Path, "/")
	for i, s := range segments {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segments[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(segments, "/")
}

// Operations returns every operation of the embedded definition, sorted by path and then method.
// It returns an error only if the embedded definition cannot be read, which the package tests rule out.
func Operations() ([]Operation, error) {
	ops, err := operations()
	if err != nil {
		return nil, err
	}
	return append([]Operation(nil), ops...), nil
}

var operations = sync.OnceValues(func() ([]Operation, error) {
	return parseOperations(definitionJSON)
})

// methods are the path-item keys that are operations; the others are parameters and extensions.
var methods = map[string]string{
	"get": http.MethodGet, "put": http.MethodPut, "post": http.MethodPost, "delete": http.MethodDelete,
	"options": http.MethodOptions, "head": http.MethodHead, "patch": http.MethodPatch,
}

func parseOperations(doc []byte) ([]Operation, error) {
	var def struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &def); err != nil {
		return nil, fmt.Errorf("swagger: reading the definition: %w", err)
	}
	var ops []Operation
	for path, item := range def.Paths {
		for key, raw := range item {
			method, ok := methods[key]
			if !ok {
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
				Trigger     string `json:"x-ms-trigger"`
				Visibility  string `json:"x-ms-visibility"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("swagger: reading %s %s: %w", method, path, err)
			}
			ops = append(ops, Operation{
				ID:       op.OperationID,
				Method:   method,
				Path:     path,
				Trigger:  op.Trigger,
				Internal: op.Visibility == "internal",
			})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, nil
}

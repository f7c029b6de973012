package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// fuzzRequest is a POST with body, capped as the server's limitBody middleware caps it.
func fuzzRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/subscriptions/rooms/1/messages", bytes.NewReader(body))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, DefaultOptions().MaxBodyBytes)
	return r
}

// assertClientError fails unless err is an *apiError with a 4xx status and a code.
func assertClientError(t *testing.T, err error) *apiError {
	t.Helper()
	var apiErr *apiError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%v is not an *apiError", err)
	}
	if apiErr.Status < 400 || apiErr.Status > 499 || apiErr.Code == "" {
		t.Fatalf("%d %s: bad input must get a 4xx with a code", apiErr.Status, apiErr.Code)
	}
	return apiErr
}

// FuzzReadJSONObject: any body is a JSON object or a 4xx naming the field the action needs.
func FuzzReadJSONObject(f *testing.F) {
	for _, seed := range []string{`{"message":"deploy done"}`, `{"message":1}`, `[]`, `null`, ``, ` `, `{`, `"x"`,
		`{"message":"a","message":"b"}`, "{\"message\":\"\xff\"}", `{"a":{"b":[1,2,{"c":null}]}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		parsed, err := readJSONObject(fuzzRequest(body), paramMessage, `{"message":"…"}`)
		if err != nil {
			if e := assertClientError(t, err); e.Status != http.StatusRequestEntityTooLarge && e.Field != paramMessage {
				t.Fatalf("%s names field %q, want %q", e.Code, e.Field, paramMessage)
			}
			return
		}
		if parsed == nil {
			t.Fatal("no error and no object")
		}
		if _, err := parsed.requiredString(paramMessage); err != nil {
			if e := assertClientError(t, err); e.Field != paramMessage {
				t.Fatalf("%s names field %q", e.Code, e.Field)
			}
		}
		for _, field := range []string{paramMessage, "other"} {
			if _, err := parsed.optionalString(field); err != nil {
				assertClientError(t, err)
			}
			if _, err := parsed.optionalNumber(field); err != nil {
				assertClientError(t, err)
			}
		}
	})
}

// FuzzReadSubscribeBody: any subscription body is a valid subscribeBody or a 4xx naming one of its
// fields.
func FuzzReadSubscribeBody(f *testing.F) {
	for _, seed := range []string{
		`{"callbackUrl":"https://hooks.example.com/hipchat"}`,
		`{"callbackUrl":"https://x/","ordering":"fifo","maxPerSecond":5}`,
		`{"callbackUrl":"https://x/","ordering":"lifo"}`,
		`{"callbackUrl":"https://x/","maxPerSecond":-1}`,
		`{"callbackUrl":"https://x/","maxPerSecond":1e309}`,
		`{"callbackUrl":"https://x/","maxPerSecond":"5"}`,
		`{"callbackUrl":"  "}`,
		`{"callbackUrl":null}`,
		`{"callbackUrl":["a"]}`,
		`{}`, ``, `[`,
		`{"callbackUrl":"https://x/","mentions":"me","includeAtAll":false,"keywords":"outage,incident"}`,
		`{"callbackUrl":"https://x/","pattern":"(","from":"CI","include":"notifications"}`,
		`{"callbackUrl":"https://x/","includeAtAll":"no","keywords":7}`,
	} {
		f.Add([]byte(seed))
	}
	fields := map[string]bool{paramCallbackURL: true, paramOrdering: true, paramMaxPerSecond: true,
		paramMentions: true, paramIncludeAtAll: true, paramKeywords: true, paramPattern: true, paramFrom: true, paramInclude: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := readSubscribeBody(fuzzRequest(body), onNewMessage)
		if err != nil {
			if e := assertClientError(t, err); e.Status != http.StatusRequestEntityTooLarge && !fields[e.Field] {
				t.Fatalf("%s names field %q, not one of the body's", e.Code, e.Field)
			}
			return
		}
		if got.callbackURL == "" || !got.ordering.Valid() || got.maxPerSecond < 0 || got.maxPerSecond > maxSubscriptionRate {
			t.Fatalf("accepted an invalid body: %+v", got)
		}
		if _, err := (triggers.FilterSpec{Pattern: got.filter.Pattern}).Compile(); err != nil {
			t.Fatalf("accepted a pattern that does not compile: %q", got.filter.Pattern)
		}
	})
}

// Package swagger owns the connector definition: apiDefinition.swagger.json, the OpenAPI 2.0 file with
// its x-ms-* extensions that Logic Apps and Power Automate import as a custom connector, and
// apiProperties.json, the connection parameter (the HipChat token) that paconn uploads with it.
//
// Both files are embedded. Definition renders the definition for the public URL where the connector is
// reachable, Handler serves that rendering at /swagger.json, and Operations lists the operations so the
// server can prove that it has exactly one route for each.
package swagger

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// File names of the two parts of a custom connector, as paconn and the import wizard expect them.
const (
	DefinitionFile = "apiDefinition.swagger.json"
	PropertiesFile = "apiProperties.json"
)

//go:embed apiDefinition.swagger.json
var definitionJSON []byte

//go:embed apiProperties.json
var propertiesJSON []byte

// ErrPublicURL is wrapped by the error Definition and Handler return for a public URL that is not an
// absolute http(s) URL without user info, query or fragment.
var ErrPublicURL = errors.New("want an absolute http or https URL such as https://connector.example.com")

// Definition returns the connector definition with host, basePath and schemes taken from publicURL,
// the base URL under which workflow engines reach the connector: https://connector.example.com/hipchat
// gives host connector.example.com, basePath /hipchat and schemes [https]. The rest of the document is
// the embedded file, in its order. It returns an error wrapping ErrPublicURL for a bad publicURL.
func Definition(publicURL string) ([]byte, error) {
	base, err := parsePublicURL(publicURL)
	if err != nil {
		return nil, err
	}
	return setTopLevel(definitionJSON, []field{
		{"host", base.host},
		{"basePath", base.basePath},
		{"schemes", []string{base.scheme}},
	})
}

// Properties returns apiProperties.json: the token connection parameter, brand colour and publisher.
func Properties() []byte {
	return bytes.Clone(propertiesJSON)
}

// publicBase is a public URL split into the definition's host, basePath and scheme.
type publicBase struct {
	scheme, host, basePath string
}

func parsePublicURL(raw string) (publicBase, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Error repeats the whole URL, password and all; its cause names only what is wrong.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return publicBase{}, fmt.Errorf("%v (%w)", err, ErrPublicURL)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return publicBase{}, fmt.Errorf("%q has no http or https scheme (%w)", shownURL(u), ErrPublicURL)
	case u.Host == "" || u.Opaque != "":
		return publicBase{}, fmt.Errorf("%q has no host (%w)", shownURL(u), ErrPublicURL)
	case u.User != nil:
		return publicBase{}, fmt.Errorf("%q carries user info (%w)", shownURL(u), ErrPublicURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return publicBase{}, fmt.Errorf("%q has a query or fragment (%w)", shownURL(u), ErrPublicURL)
	}
	basePath := strings.TrimRight(u.Path, "/")
	if basePath == "" {
		basePath = "/"
	}
	return publicBase{scheme: u.Scheme, host: u.Host, basePath: basePath}, nil
}

// shownURL is u as an error may show it: without its password, query or fragment, where a
// secret could hide.
func shownURL(u *url.URL) string {
	shown := *u
	if shown.RawQuery != "" || shown.Fragment != "" {
		shown.RawQuery, shown.Fragment, shown.RawFragment = "redacted", "", ""
	}
	return shown.Redacted()
}

// field is one top-level member of a JSON object.
type field struct {
	key   string
	value any
}

// setTopLevel replaces (or appends) top-level members of the JSON object doc and returns it indented
// with two spaces. Members keep their order so that the rendered file reads like the embedded one.
func setTopLevel(doc []byte, set []field) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("swagger: the embedded definition is not a JSON object")
	}
	var out bytes.Buffer
	done := make(map[string]bool, len(set))
	write := func(key string, value []byte) {
		if out.Len() > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(value)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("swagger: the embedded definition: %w", err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("swagger: the embedded definition at %q: %w", key, err)
		}
		for _, f := range set {
			if f.key == key {
				if raw, err = json.Marshal(f.value); err != nil {
					return nil, err
				}
				done[key] = true
			}
		}
		write(key, raw)
	}
	for _, f := range set {
		if !done[f.key] {
			v, err := json.Marshal(f.value)
			if err != nil {
				return nil, err
			}
			write(f.key, v)
		}
	}
	compact := append(append([]byte{'{'}, out.Bytes()...), '}')
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("swagger: rendering the definition: %w", err)
	}
	pretty.WriteByte('\n')
	return pretty.Bytes(), nil
}

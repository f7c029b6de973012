package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/hipchat-connector/hipchat-connector/swagger"
)

const definitionSummary = "write the custom-connector definition (apiDefinition.swagger.json, apiProperties.json, icon.png) for a public URL"

// runDefinition writes the connector definition, host set from -public-url, apiProperties.json and
// the icon into -out, for the Power Platform import wizard ("Import an OpenAPI file") or paconn.
func runDefinition(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("definition", definitionSummary, stderr)
	publicURL := fs.String("public-url", "", "absolute `URL` where Logic Apps / Power Automate reach the connector, e.g. https://connector.example.com (required)")
	out := fs.String("out", ".", "`directory` to write the three files into; created if missing")
	if _, err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *publicURL == "" {
		fmt.Fprintln(stderr, "-public-url is required")
		fs.Usage()
		return errUsage
	}
	definition, err := swagger.Definition(*publicURL)
	if err != nil {
		return fmt.Errorf("-public-url: %w", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil { // #nosec G301 -- the connector definition is public: it is uploaded to Logic Apps and served at /swagger.json
		return err
	}
	files := []struct {
		name    string
		content []byte
	}{
		{swagger.DefinitionFile, definition},
		{swagger.PropertiesFile, swagger.Properties()},
		{swagger.IconFile, swagger.Icon()},
	}
	for _, f := range files {
		path := filepath.Join(*out, f.name)
		if err := os.WriteFile(path, f.content, 0o644); err != nil { // #nosec G306 -- public, as the directory above
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	if u, err := url.Parse(*publicURL); err == nil && u.Scheme != "https" {
		fmt.Fprintln(stderr, "note: Logic Apps and Power Automate call custom connectors over https only; use an https -public-url to register this one")
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/url"

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
	written, err := swagger.WriteFiles(*out, *publicURL)
	for _, path := range written {
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	if err != nil {
		return fmt.Errorf("-public-url %s, -out %s: %w", *publicURL, *out, err)
	}
	if u, err := url.Parse(*publicURL); err == nil && u.Scheme != "https" {
		fmt.Fprintln(stderr, "note: Logic Apps and Power Automate call custom connectors over https only; use an https -public-url to register this one")
	}
	return nil
}

package main

import (
	"context"
	"errors"
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
	sources, err := parseFlags(fs, args, getenv)
	if err != nil {
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
		if errors.Is(err, swagger.ErrPublicURL) {
			// The error shows the URL without a password or query; *publicURL could hold either.
			return fmt.Errorf("%s: %w", sources.Of("public-url"), err)
		}
		return fmt.Errorf("%s %s: %w", sources.Of("out"), *out, err)
	}
	if u, err := url.Parse(*publicURL); err == nil && u.Scheme != "https" {
		fmt.Fprintln(stderr, "note: Logic Apps and Power Automate call custom connectors over https only; use an https -public-url to register this one")
	}
	return nil
}

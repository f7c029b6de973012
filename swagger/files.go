package swagger

import (
	"os"
	"path/filepath"
)

// WriteFiles writes the definition for publicURL (Definition), apiProperties.json and the icon into
// dir, created when missing, and returns the paths written, in that order. Errors: Definition's for
// a publicURL that is not an absolute URL; the file system's.
func WriteFiles(dir, publicURL string) ([]string, error) {
	definition, err := Definition(publicURL)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil { // #nosec G301 -- the connector definition is public: it is uploaded to Logic Apps and served at /swagger.json
		return nil, err
	}
	var written []string
	for _, f := range []struct {
		name    string
		content []byte
	}{
		{DefinitionFile, definition},
		{PropertiesFile, Properties()},
		{IconFile, Icon()},
	} {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.content, 0o644); err != nil { // #nosec G306 -- public, as the directory above
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

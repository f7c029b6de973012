package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/swagger"
)

func runDefinitionCmd(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"definition"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestDefinitionWritesBothFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	stdout, stderr, err := runDefinitionCmd(t, nil, "-public-url", "https://x.example.com/hipchat", "-out", dir)
	require.NoError(t, err, stderr)
	assert.Empty(t, stderr)

	defPath, propsPath, iconPath := filepath.Join(dir, swagger.DefinitionFile), filepath.Join(dir, swagger.PropertiesFile), filepath.Join(dir, swagger.IconFile)
	assert.Equal(t, "wrote "+defPath+"\nwrote "+propsPath+"\nwrote "+iconPath+"\n", stdout)

	def, err := os.ReadFile(defPath)
	require.NoError(t, err)
	want, err := swagger.Definition("https://x.example.com/hipchat")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(def))
	var got struct {
		Host     string   `json:"host"`
		BasePath string   `json:"basePath"`
		Schemes  []string `json:"schemes"`
	}
	require.NoError(t, json.Unmarshal(def, &got))
	assert.Equal(t, "x.example.com", got.Host)
	assert.Equal(t, "/hipchat", got.BasePath)
	assert.Equal(t, []string{"https"}, got.Schemes)

	props, err := os.ReadFile(propsPath)
	require.NoError(t, err)
	assert.Equal(t, swagger.Properties(), props)

	icon, err := os.ReadFile(iconPath)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(icon))
	require.NoError(t, err, "icon.png is a PNG")
	assert.GreaterOrEqual(t, img.Bounds().Dx(), 230, "as large as the connector wizard takes")
}

func TestDefinitionReadsFlagsFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	_, stderr, err := runDefinitionCmd(t, map[string]string{
		"HIPCHAT_CONNECTOR_PUBLIC_URL": "https://env.example.com",
		"HIPCHAT_CONNECTOR_OUT":        dir,
	})
	require.NoError(t, err, stderr)
	def, err := os.ReadFile(filepath.Join(dir, swagger.DefinitionFile))
	require.NoError(t, err)
	assert.Contains(t, string(def), `"host": "env.example.com"`)
}

func TestDefinitionDefaultsToTheWorkingDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	stdout, stderr, err := runDefinitionCmd(t, nil, "-public-url", "https://x.example.com")
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "wrote "+swagger.DefinitionFile+"\n")
	for _, name := range []string{swagger.DefinitionFile, swagger.PropertiesFile, swagger.IconFile} {
		_, err := os.Stat(name)
		assert.NoError(t, err, name)
	}
}

func TestDefinitionWarnsAboutPlainHTTP(t *testing.T) {
	_, stderr, err := runDefinitionCmd(t, nil, "-public-url", "http://127.0.0.1:8080", "-out", t.TempDir())
	require.NoError(t, err)
	assert.Contains(t, stderr, "https")
}

func TestDefinitionRejectsBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want error
		says string
	}{
		"missing public URL":  {nil, errUsage, "-public-url is required"},
		"relative public URL": {[]string{"-public-url", "connector.example.com"}, swagger.ErrPublicURL, ""},
		"path only":           {[]string{"-public-url", "/hipchat"}, swagger.ErrPublicURL, ""},
		"ftp":                 {[]string{"-public-url", "ftp://connector.example.com"}, swagger.ErrPublicURL, ""},
		"unknown flag":        {[]string{"-nope"}, errUsage, "flag provided but not defined"},
		"extra argument":      {[]string{"-public-url", "https://x.example.com", "extra"}, errUsage, "unexpected arguments"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, stderr, err := runDefinitionCmd(t, nil, append(tc.args, "-out", dir)...)
			assert.ErrorIs(t, err, tc.want)
			assert.Contains(t, stderr, tc.says)
			entries, _ := os.ReadDir(dir)
			assert.Empty(t, entries, "nothing is written")
		})
	}
}

func TestDefinitionHelpPrintsFlags(t *testing.T) {
	stdout, stderr, err := runDefinitionCmd(t, nil, "-h")
	require.NoError(t, err)
	assert.Empty(t, stdout)
	for _, want := range []string{"usage: hipchat-connector definition", "-public-url", "-out", "HIPCHAT_CONNECTOR_"} {
		assert.Contains(t, stderr, want)
	}
	assert.True(t, strings.Contains(stderr, definitionSummary))
}

// TestDefinitionNamesTheSourceOfABadPublicURLWithoutItsPassword: a public URL from the environment
// that is refused is named by its variable, and neither its password nor its query is in the error.
func TestDefinitionNamesTheSourceOfABadPublicURLWithoutItsPassword(t *testing.T) {
	_, _, err := runDefinitionCmd(t, map[string]string{"HIPCHAT_CONNECTOR_PUBLIC_URL": "https://u:url-secret@connector.example.com/?code=query-secret"},
		"-out", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HIPCHAT_CONNECTOR_PUBLIC_URL: ")
	assert.NotContains(t, err.Error(), "url-secret")
	assert.NotContains(t, err.Error(), "query-secret")
}

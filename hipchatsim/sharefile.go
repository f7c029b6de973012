package hipchatsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxShareFile is the largest file a share/file takes: HipChat's own limit of 50 MB, which its web
// client enforced as 50 MiB (app_config.js max_upload_size: 50, compared with size/1024/1024; the
// API documents none, a spec gap), the limit the connector's ShareFileWithRoom applies too.
// maxShareBody bounds the whole upload: that file, its message and the multipart framing.
const (
	maxShareFile = 50 << 20
	maxShareBody = maxShareFile + 1<<20
)

// share is a parsed share/file request.
type share struct {
	message           string
	name, contentType string
	data              []byte
}

// readShare parses a share/file body as HipChat documented it (spec §2.9): multipart/related with an
// optional application/json part holding {"message"} and a part with name="file". The parser is
// lenient like the clients that used it: LF or CRLF line ends, a missing closing "--", and a file part
// with Content-Transfer-Encoding: base64 is decoded. multipart/form-data is accepted too.
func readShare(r *http.Request) (share, error) {
	var sh share
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return sh, errContentType
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxShareBody+1))
	if err != nil {
		return sh, errorf(http.StatusBadRequest, "The request body could not be read")
	}
	if len(body) > maxShareBody {
		return sh, errorf(http.StatusRequestEntityTooLarge, "File too large")
	}
	var haveFile bool
	for _, part := range splitMultipart(body, params["boundary"]) {
		header, content := splitPart(part)
		disposition := header["content-disposition"]
		_, dparams, _ := mime.ParseMediaType(disposition)
		ctype := header["content-type"]
		ptype, _, _ := mime.ParseMediaType(ctype)
		if strings.EqualFold(header["content-transfer-encoding"], "base64") {
			decoded, err := base64.StdEncoding.DecodeString(string(removeSpace(content)))
			if err != nil {
				return sh, invalid("file", "format", nil, "A part marked base64 could not be decoded")
			}
			content = decoded
		}
		switch {
		case dparams["name"] == "file" || (dparams["filename"] != "" && ptype != "application/json"):
			haveFile = true
			sh.name = dparams["filename"]
			if sh.name == "" {
				sh.name = "file"
			}
			sh.contentType = ptype
			if sh.contentType == "" || sh.contentType == "application/octet-stream" {
				if byExt := mime.TypeByExtension(extension(sh.name)); byExt != "" {
					sh.contentType = byExt
				} else {
					sh.contentType = http.DetectContentType(content)
				}
			}
			sh.data = content
		case ptype == "application/json" || dparams["name"] == "metadata":
			var meta fields
			if err := json.Unmarshal(content, &meta); err != nil {
				return sh, errInvalidJSON
			}
			msg, _, err := meta.str("message", false, 0, 1000)
			if err != nil {
				return sh, err
			}
			sh.message = msg
		}
	}
	if !haveFile {
		return sh, missing("file")
	}
	if len(sh.data) > maxShareFile {
		return sh, errorf(http.StatusRequestEntityTooLarge, "File too large")
	}
	if !utf8.ValidString(sh.name) {
		return sh, invalid("file", "format", nil, "The file name must be UTF-8")
	}
	return sh, nil
}

// splitMultipart returns the parts between boundary lines; the text before the first boundary and
// after the closing one is dropped.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	rest := body
	start := -1
	for {
		i := indexLineStart(rest, delim)
		if i < 0 {
			if start >= 0 {
				parts = append(parts, trimPartEnd(rest))
			}
			return parts
		}
		if start >= 0 {
			parts = append(parts, trimPartEnd(rest[:i]))
		}
		rest = rest[i+len(delim):]
		if bytes.HasPrefix(rest, []byte("--")) {
			return parts
		}
		// skip the rest of the boundary line
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[j+1:]
		} else {
			rest = nil
		}
		start = 0
	}
}

// indexLineStart finds delim at the start of the body or of a line.
func indexLineStart(b, delim []byte) int {
	off := 0
	for {
		i := bytes.Index(b[off:], delim)
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || b[i-1] == '\n' {
			return i
		}
		off = i + 1
	}
}

// trimPartEnd removes the line end that belongs to the next boundary.
func trimPartEnd(p []byte) []byte {
	p = bytes.TrimSuffix(p, []byte("\n"))
	return bytes.TrimSuffix(p, []byte("\r"))
}

// splitPart separates a part's headers (keys lower-cased) from its content at the first empty line.
func splitPart(p []byte) (map[string]string, []byte) {
	header := map[string]string{}
	for {
		i := bytes.IndexByte(p, '\n')
		var line []byte
		if i < 0 {
			line, p = p, nil
		} else {
			line, p = p[:i], p[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return header, p
		}
		if k, v, ok := strings.Cut(string(line), ":"); ok {
			header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if p == nil {
			return header, nil
		}
	}
}

func removeSpace(b []byte) []byte {
	return bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, b)
}

func extension(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

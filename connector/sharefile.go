package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// SharedFile is a file to share in a room, with an optional message.
type SharedFile struct {
	Name        string // the file name HipChat shows
	ContentType string // the file's media type, e.g. text/plain
	Content     []byte
	Message     string // optional text posted with the file
}

// ShareFile shares f in room as the token's user (scope send_message): HipChat's multipart/related
// body (spec/hipchat-v2.md §2.9) with a JSON part {"message"} and the file part. Never retried.
// Errors are *Error.
func (c *Client) ShareFile(ctx context.Context, conn Connection, room string, f SharedFile) error {
	body, contentType, err := multipartShare(f)
	if err != nil {
		return err
	}
	return c.call(ctx, conn, request{method: "POST", path: roomPath(room, "/share/file"), raw: body, contentType: contentType}, nil)
}

// multipartShare builds the multipart/related body of a file share and its Content-Type.
func multipartShare(f SharedFile) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(len(f.Content) + 1024)
	w := multipart.NewWriter(&buf)
	metadata, err := json.Marshal(map[string]string{"message": f.Message})
	if err != nil {
		return nil, "", err
	}
	parts := []struct {
		header  textproto.MIMEHeader
		content []byte
	}{
		{textproto.MIMEHeader{
			"Content-Type":        {"application/json; charset=UTF-8"},
			"Content-Disposition": {disposition("metadata", "")},
		}, metadata},
		{textproto.MIMEHeader{
			"Content-Type":        {f.ContentType},
			"Content-Disposition": {disposition("file", f.Name)},
		}, f.Content},
	}
	for _, p := range parts {
		part, err := w.CreatePart(p.header)
		if err != nil {
			return nil, "", err
		}
		if _, err := part.Write(p.content); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mime.FormatMediaType("multipart/related", map[string]string{"boundary": w.Boundary()}), nil
}

// disposition is a part's Content-Disposition as HipChat's documentation wrote it (attachment;
// name="file"; filename="…"), the parameters quoted. A file name beyond printable ASCII goes in
// RFC 2231's encoded filename* parameter instead.
func disposition(name, filename string) string {
	d := `attachment; name="` + name + `"`
	if filename == "" {
		return d
	}
	for _, r := range filename {
		if r < ' ' || r > '~' {
			return d + strings.TrimPrefix(mime.FormatMediaType("attachment", map[string]string{"filename": filename}), "attachment")
		}
	}
	return d + `; filename="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(filename) + `"`
}

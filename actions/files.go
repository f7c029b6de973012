package actions

import (
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"path"
	"strings"
	"unicode"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// DefaultMaxFileBytes is the largest file ShareFileWithRoom shares unless configured lower: HipChat's
// own limit of 50 MB, which its web client enforced as 50 MiB (app_config.js max_upload_size: 50,
// compared with size/1024/1024; the spec's HCJS source). HipChat's API documents none (spec gap).
const DefaultMaxFileBytes = 50 << 20

// MaxFileNameLength bounds a shared file's name, in characters, as most file systems do.
const MaxFileNameLength = 255

// Field names of ShareFileWithRoom's body.
const (
	FieldFileName    = "fileName"
	FieldFileContent = "fileContent"
	FieldContentType = "contentType"
)

// ShareFileWithRoomInput is ShareFileWithRoom's input.
type ShareFileWithRoomInput struct {
	RoomID string
	// FileName is the name HipChat shows: 1–255 characters, no path separators or control characters.
	FileName string
	// FileContent is the file's bytes in base64 (standard alphabet, padded or not, line breaks
	// allowed), as Logic Apps and Power Automate pass file content ($content).
	FileContent string
	// ContentType is the file's media type; empty means from FileName's extension, else
	// application/octet-stream.
	ContentType string
	// Message is optional text posted with the file, up to 1,000 characters.
	Message string
	// MaxBytes is the largest file accepted; 0 means DefaultMaxFileBytes.
	MaxBytes int64
}

func (in ShareFileWithRoomInput) maxBytes() int64 {
	if in.MaxBytes > 0 {
		return in.MaxBytes
	}
	return DefaultMaxFileBytes
}

// Validate refuses, in this order: a blank RoomID, FileName or FileContent (missing_field); a
// FileName that is too long (field_too_long) or holds a path separator or control character
// (invalid_field); FileContent whose length says it holds more than MaxBytes (field_too_long); a
// ContentType that is not a media type (invalid_field); a Message over MaxMessageLength
// (field_too_long). Whether FileContent is base64 is checked when it is decoded, still before any
// HipChat call.
func (in ShareFileWithRoomInput) Validate() error {
	return firstRefusal(
		reference(FieldRoomID, in.RoomID),
		required(FieldFileName, in.FileName),
		atMostChars(FieldFileName, in.FileName, MaxFileNameLength),
		plainFileName(in.FileName),
		required(FieldFileContent, in.FileContent),
		in.fitsLimit(decodedSize(in.FileContent)),
		mediaType(in.ContentType),
		atMostChars(FieldMessage, in.Message, MaxMessageLength),
	)
}

// fitsLimit refuses a file of size bytes over the limit (estimated from the base64 length, or
// counted once decoded).
func (in ShareFileWithRoomInput) fitsLimit(size int64) error {
	if size <= in.maxBytes() {
		return nil
	}
	return &InvalidInput{Field: FieldFileContent, Code: CodeFieldTooLong,
		Message: fmt.Sprintf("%s holds %d bytes; the largest file shared is %s", FieldFileContent, size, FileLimit(in.maxBytes()))}
}

// FileLimit says the largest file of a limit of maxBytes (0: DefaultMaxFileBytes) as the refusals
// say it: "52428800 bytes (50 MiB)".
func FileLimit(maxBytes int64) string {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFileBytes
	}
	if human := humanBytes(maxBytes); human != "" {
		return fmt.Sprintf("%d bytes (%s)", maxBytes, human)
	}
	return fmt.Sprintf("%d bytes", maxBytes)
}

// decodedSize is how many bytes base64 content holds, from its length without padding and line
// breaks; exact for valid base64.
func decodedSize(content string) int64 {
	n := 0
	for i := 0; i < len(content); i++ {
		switch content[i] {
		case ' ', '\r', '\n', '\t', '=':
		default:
			n++
		}
	}
	return int64(base64.RawStdEncoding.DecodedLen(n))
}

func plainFileName(name string) error {
	if strings.ContainsAny(name, `/\`) || strings.ContainsFunc(name, unicode.IsControl) {
		return invalid(FieldFileName, FieldFileName+" must be a plain file name such as notes.txt, without / \\ or control characters")
	}
	return nil
}

func mediaType(contentType string) error {
	if contentType == "" {
		return nil
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil || !strings.Contains(contentType, "/") {
		return invalid(FieldContentType, FieldContentType+" must be a media type such as text/plain or image/png")
	}
	return nil
}

// decode returns FileContent's bytes. Errors: an *InvalidInput naming fileContent for content that is
// not base64 or, decoded, over the limit.
func (in ShareFileWithRoomInput) decode() ([]byte, error) {
	content := in.FileContent
	if strings.ContainsAny(content, " \r\n\t") {
		content = strings.Join(strings.Fields(content), "")
	}
	data, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		data, err = base64.RawStdEncoding.DecodeString(content)
	}
	if err != nil {
		return nil, invalid(FieldFileContent, FieldFileContent+" must be the file's bytes in base64, as Logic Apps and Power Automate pass file content")
	}
	if err := in.fitsLimit(int64(len(data))); err != nil {
		return nil, err
	}
	return data, nil
}

// FileShared is ShareFileWithRoom's output.
type FileShared struct {
	Summary     string `json:"summary"`
	Name        string `json:"name"`
	Size        int    `json:"size"`
	ContentType string `json:"content_type"`
}

// ShareFileWithRoom shares the file in the room as the token's user, with the message (operation
// ShareFileWithRoom). Never retried. Errors: an *InvalidInput from Validate or from decoding the
// content, before any call; else the *connector.Error of the HipChat call (a 404 is the room's).
func ShareFileWithRoom(ctx context.Context, hipchat HipChat, conn connector.Connection, in ShareFileWithRoomInput) (FileShared, error) {
	if err := in.Validate(); err != nil {
		return FileShared{}, err
	}
	data, err := in.decode()
	if err != nil {
		return FileShared{}, err
	}
	contentType := in.ContentType
	if contentType == "" {
		contentType = mime.TypeByExtension(path.Ext(in.FileName))
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	f := connector.SharedFile{Name: in.FileName, ContentType: contentType, Content: data, Message: in.Message}
	if err := hipchat.ShareFile(ctx, conn, in.RoomID, f); err != nil {
		return FileShared{}, err
	}
	return FileShared{Summary: fmt.Sprintf("File %s (%d bytes) shared in room %s", in.FileName, len(data), in.RoomID),
		Name: in.FileName, Size: len(data), ContentType: contentType}, nil
}

// humanBytes says a size in the largest binary unit that divides it evenly; "" when none does.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return ""
}

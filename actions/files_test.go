package actions_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
)

func TestShareFileInputNamesTheFieldAtFault(t *testing.T) {
	notes := base64.StdEncoding.EncodeToString([]byte("release notes"))
	for name, tc := range map[string]struct {
		in                   actions.ShareFileWithRoomInput
		field, code, message string
	}{
		"no room":          {actions.ShareFileWithRoomInput{FileName: "a.txt", FileContent: notes}, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"no name":          {actions.ShareFileWithRoomInput{RoomID: "1", FileContent: notes}, "fileName", actions.CodeMissingField, "fileName" + blankMessage},
		"name too long":    {actions.ShareFileWithRoomInput{RoomID: "1", FileName: strings.Repeat("n", 256), FileContent: notes}, "fileName", actions.CodeFieldTooLong, "fileName is 256 characters long; HipChat takes at most 255"},
		"name is a path":   {actions.ShareFileWithRoomInput{RoomID: "1", FileName: "../etc/passwd", FileContent: notes}, "fileName", actions.CodeInvalidField, `fileName must be a plain file name such as notes.txt, without / \ or control characters`},
		"name has a CR":    {actions.ShareFileWithRoomInput{RoomID: "1", FileName: "a\r.txt", FileContent: notes}, "fileName", actions.CodeInvalidField, `fileName must be a plain file name such as notes.txt, without / \ or control characters`},
		"no content":       {actions.ShareFileWithRoomInput{RoomID: "1", FileName: "a.txt"}, "fileContent", actions.CodeMissingField, "fileContent" + blankMessage},
		"over the limit":   {actions.ShareFileWithRoomInput{RoomID: "1", FileName: "a.txt", FileContent: base64.StdEncoding.EncodeToString(make([]byte, 1025)), MaxBytes: 1024}, "fileContent", actions.CodeFieldTooLong, "fileContent holds 1025 bytes; the largest file shared is 1024 bytes (1 KiB)"},
		"bad media type":   {actions.ShareFileWithRoomInput{RoomID: "1", FileName: "a.txt", FileContent: notes, ContentType: "text"}, "contentType", actions.CodeInvalidField, "contentType must be a media type such as text/plain or image/png"},
		"message too long": {actions.ShareFileWithRoomInput{RoomID: "1", FileName: "a.txt", FileContent: notes, Message: strings.Repeat("m", 1001)}, "message", actions.CodeFieldTooLong, "message is 1001 characters long; HipChat takes at most 1000"},
	} {
		t.Run(name, func(t *testing.T) {
			assertRefused(t, tc.in.Validate(), tc.field, tc.code, tc.message)
		})
	}
	atLimit := actions.ShareFileWithRoomInput{RoomID: "1", FileName: "a.txt", FileContent: base64.StdEncoding.EncodeToString(make([]byte, 1024)), MaxBytes: 1024}
	assert.NoError(t, atLimit.Validate(), "a file of exactly the limit is shared")
	wrapped := base64.StdEncoding.EncodeToString(make([]byte, 1024))
	wrapped = wrapped[:76] + "\r\n" + wrapped[76:]
	atLimit.FileContent = wrapped
	assert.NoError(t, atLimit.Validate(), "line breaks do not count")
}

func TestHipChatsFileLimitIsTheDefault(t *testing.T) {
	assert.Equal(t, 50*1024*1024, actions.DefaultMaxFileBytes)
	over := actions.ShareFileWithRoomInput{RoomID: "1", FileName: "big.bin",
		FileContent: base64.StdEncoding.EncodeToString(make([]byte, actions.DefaultMaxFileBytes+1))}
	assertRefused(t, over.Validate(), "fileContent", actions.CodeFieldTooLong, "fileContent holds 52428801 bytes; the largest file shared is 52428800 bytes (50 MiB)")
}

func TestShareFileWithRoom(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Releases", "public")
	content := []byte("release 1.2\n\u00e9t\u00e9 fixes\n")
	for name, encoded := range map[string]string{
		"padded":   base64.StdEncoding.EncodeToString(content),
		"unpadded": base64.RawStdEncoding.EncodeToString(content),
	} {
		t.Run(name, func(t *testing.T) {
			shared, err := actions.ShareFileWithRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.ShareFileWithRoomInput{RoomID: room,
				FileName: "notes " + name + ".txt", FileContent: encoded, Message: "the release notes"})
			require.NoError(t, err)
			assert.Equal(t, actions.FileShared{Summary: "File notes " + name + ".txt (" + itoa(len(content)) + " bytes) shared in room " + room,
				Name: "notes " + name + ".txt", Size: len(content), ContentType: "text/plain; charset=utf-8"}, shared)

			last := w.last(t, room)
			assert.Equal(t, "the release notes", *last.Message)
			require.NotNil(t, last.File)
			assert.Equal(t, "notes "+name+".txt", last.File.Name)
			assert.Equal(t, len(content), last.File.Size)
			resp, err := http.Get(last.File.URL)
			require.NoError(t, err)
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, content, got, "HipChat stored the bytes as given")
		})
	}
	t.Run("unknown extension", func(t *testing.T) {
		shared, err := actions.ShareFileWithRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.ShareFileWithRoomInput{RoomID: room,
			FileName: "build.log-7", FileContent: base64.StdEncoding.EncodeToString([]byte{0, 1, 2})})
		require.NoError(t, err)
		assert.Equal(t, "application/octet-stream", shared.ContentType)
	})
	t.Run("not base64", func(t *testing.T) {
		before := w.calls(t, w.ann.Token)
		_, err := actions.ShareFileWithRoom(w.ctx, w.hipchat, w.conn(w.ann), actions.ShareFileWithRoomInput{RoomID: room,
			FileName: "a.txt", FileContent: "this is not base64!"})
		assertRefused(t, err, "fileContent", actions.CodeInvalidField, "fileContent must be the file's bytes in base64, as Logic Apps and Power Automate pass file content")
		assert.Equal(t, before, w.calls(t, w.ann.Token), "refused without a call")
	})
}

package hipchatsim

import (
	"net/http"
	"strings"
)

// storedFile is an uploaded file (share/file, user photos) or an emoticon image, served under
// /_sim/files/{id}/{name} so that the url of a file message points at the emulator itself.
type storedFile struct {
	id, name, contentType string
	data                  []byte
}

func (f *storedFile) path() string           { return fileLinkPath(f.id, f.name) }
func (f *storedFile) url(base string) string { return base + f.path() }
func (f *storedFile) isImage() bool          { return strings.HasPrefix(f.contentType, "image/") }

// storeFile keeps a file under a new id; callers hold s.mu or are constructing s. The id is 15
// characters, like the random path segment of HipChat's upload URLs.
func (s *Server) storeFile(name, contentType string, data []byte) *storedFile {
	id := strings.ReplaceAll(s.newID(), "-", "")[:15]
	f := &storedFile{id: id, name: name, contentType: contentType, data: data}
	s.files[id] = f
	return f
}

// handleFile is GET /_sim/files/{id}/{name}: the bytes of a stored file (an emulator extension).
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	f := s.files[r.PathValue("id")]
	s.mu.RUnlock()
	if f == nil || f.name != r.PathValue("name") {
		writeError(w, errorf(http.StatusNotFound, "File not found"))
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	_, _ = w.Write(f.data) // the client went away: nothing left to tell it
}

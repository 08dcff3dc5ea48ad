package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"briefcast/articles"
	"briefcast/site"
)

// has reports whether the site has a file at the full URL path p.
func (snap *snapshot) has(p string) bool {
	return snap.files[p] != nil || snap.stored(p) != nil
}

// maxChanged caps what serveStored reads of a file that changed on disk
// since the index was made: the site's largest files are lead images of
// at most articles.MaxImageBytes.
const maxChanged = 4 * articles.MaxImageBytes

// gzipWriters are the compressors of the pages read from disk. A
// compressor holds most of a megabyte of tables: made per request, it
// would cost far more than the page.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return zw
}}

// gzipBufs are the buffers pages are compressed into.
var gzipBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveStored answers a GET or HEAD for f, a file of the site read from
// its folder rather than kept in memory: the long tail of article, tag
// and listing pages, each asked for rarely. The headers, the ETag and the
// 304s are those of a file in memory. The page is compressed as it is
// sent: a page is small, and compressing it costs less than keeping a
// second copy of the site.
//
// The copy opened is checked against the one the index describes (size
// and time): an update may have replaced it a moment before its index is
// swapped in, or someone may have changed it. Such a copy is served with
// a tag made from its own bytes, so a tag never names bytes it was not
// made from. A file that is gone answers 404.
func (s *Server) serveStored(w http.ResponseWriter, r *http.Request, snap *snapshot, f *site.File) {
	fh, err := os.OpenInRoot(snap.dir, f.Path[1:])
	if err != nil {
		s.storedMissing(w, r, snap, f, err)
		return
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		s.storedMissing(w, r, snap, f, err)
		return
	}
	if !f.Stored.Same(fi) {
		if fi.Size() > maxChanged {
			s.storedMissing(w, r, snap, f, fmt.Errorf("changed to %d bytes, more than a site file can be", fi.Size()))
			return
		}
		body, err := io.ReadAll(io.LimitReader(fh, maxChanged+1))
		if err == nil && len(body) > maxChanged {
			err = fmt.Errorf("grew past %d bytes while read", maxChanged)
		}
		if err != nil {
			s.storedMissing(w, r, snap, f, err)
			return
		}
		now := &site.File{Path: f.Path, Body: body, ContentType: f.ContentType, Modified: f.Modified}
		s.serveFile(w, r, s.newEntry(f.Path, now, false, nil), http.StatusOK)
		return
	}
	h := w.Header()
	ct := f.ContentType
	if ct == "" {
		ct = contentType(f.Path)
	}
	html := ct == site.HTMLType
	tag := f.Stored.ETag
	gz := false
	if compressible(ct) && f.Stored.Size >= 256 {
		h["Vary"] = hVary
		if gz = acceptsGzip(r.Header["Accept-Encoding"]); gz {
			tag += "-gz"
		}
	}
	if html {
		h["Cache-Control"] = hPageCache
	} else {
		h["Cache-Control"] = hFileCache
	}
	mod := f.Modified.UTC().Truncate(time.Second)
	etag := []string{`"` + tag + `"`}
	if notModified(r, tag, mod) {
		h["Etag"] = etag
		w.WriteHeader(http.StatusNotModified)
		s.logStored(r, http.StatusNotModified)
		return
	}
	var zbuf *bytes.Buffer
	if gz {
		if zbuf, err = compressFile(fh, fi.Size()); err != nil {
			s.storedMissing(w, r, snap, f, err)
			return
		}
		defer gzipBufs.Put(zbuf)
		h["Content-Encoding"] = hGzip
		h["Content-Length"] = []string{strconv.Itoa(zbuf.Len())}
	} else {
		h["Content-Length"] = []string{strconv.FormatInt(fi.Size(), 10)}
	}
	h["Content-Type"] = []string{ct}
	h["Etag"] = etag
	if !mod.IsZero() {
		h["Last-Modified"] = []string{mod.Format(http.TimeFormat)}
	}
	h["X-Content-Type-Options"] = hNosniff
	if html {
		h["Content-Security-Policy"] = hCSP
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if zbuf != nil {
			w.Write(zbuf.Bytes())
		} else {
			io.CopyN(w, fh, fi.Size())
		}
	}
	s.logStored(r, http.StatusOK)
}

// compressFile reads the size bytes of fh and returns them gzipped, in a
// buffer of gzipBufs.
func compressFile(fh *os.File, size int64) (*bytes.Buffer, error) {
	zbuf := gzipBufs.Get().(*bytes.Buffer)
	zbuf.Reset()
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(zbuf)
	_, err := io.CopyN(zw, fh, size)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		gzipBufs.Put(zbuf)
		return nil, err
	}
	return zbuf, nil
}

// storedMissing answers for a file of the index that cannot be read from
// the site's folder (removed or replaced by hand): 404, with a warning,
// since only a build puts it back.
func (s *Server) storedMissing(w http.ResponseWriter, r *http.Request, snap *snapshot, f *site.File, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "site_file_unreadable",
		slog.String("path", f.Path), slog.String("dir", snap.dir), slog.Any("err", err))
	s.notFound(w, r, snap)
}

// logStored logs a file served from disk at Debug, as logFile does.
func (s *Server) logStored(r *http.Request, status int) {
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "http_request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status))
	}
}

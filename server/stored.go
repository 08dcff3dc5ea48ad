package server

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"

	"briefcast/articles"
	"briefcast/site"
)

// has reports whether the site has a file at the full URL path p.
func (snap *snapshot) has(p string) bool {
	return snap.files[p] != nil || snap.stored(p) != nil
}

// maxChanged caps what serveStored reads of a file changed since its index.
const maxChanged = 4 * articles.MaxImageBytes

// gzipWriters compress the pages read from disk: a compressor's tables,
// made per request, would cost far more than the page.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return zw
}}

// gzipBufs are the buffers pages are compressed into.
var gzipBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveStored answers a GET or HEAD for f, read from the site's folder:
// the long tail of pages, each asked for rarely, with the headers of a file
// in memory. It is compressed as sent, which costs less than keeping a
// second copy of the site. A file that cannot be read answers 404, with a
// warning: only a build puts it back.
func (s *Server) serveStored(w http.ResponseWriter, r *http.Request, snap *snapshot, f *site.File) {
	if err := s.sendStored(w, r, snap.site.Dir, f); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "site_file_unreadable",
			slog.String("path", f.Path), slog.String("dir", snap.site.Dir), slog.Any("err", err))
		s.notFound(w, r, snap)
	}
}

// sendStored answers for f unless it cannot be read. A copy that is not
// the one the index describes (an update replaced it just before its index
// is swapped in) is served with a tag made from its own bytes.
func (s *Server) sendStored(w http.ResponseWriter, r *http.Request, dir string, f *site.File) error {
	fh, err := os.OpenInRoot(dir, f.Path[1:])
	if err != nil {
		return err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		return err
	}
	if !f.Stored.Same(fi) {
		if fi.Size() > maxChanged {
			return fmt.Errorf("changed to %d bytes, more than a site file can be", fi.Size())
		}
		body, err := io.ReadAll(io.LimitReader(fh, maxChanged+1))
		if err == nil && len(body) > maxChanged {
			err = fmt.Errorf("grew past %d bytes while read", maxChanged)
		}
		if err != nil {
			return err
		}
		now := &site.File{Path: f.Path, Body: body, ContentType: f.ContentType, Modified: f.Modified}
		s.serveFile(w, r, s.newEntry(f.Path, now, false, nil), http.StatusOK)
		return nil
	}
	e := s.newEntry(f.Path, f, false, nil) // its header but the length, and the encoding
	hd, size := e.plain, fi.Size()
	if compressible(hd.contentType[0]) && f.Stored.Size >= 256 {
		w.Header()["Vary"] = hVary
		if acceptsGzip(r.Header["Accept-Encoding"]) {
			hd.etagValue += "-gz"
			hd.etag, hd.contentEncoding = []string{`"` + hd.etagValue + `"`}, hGzip
		}
	}
	w.Header()["Cache-Control"] = e.cacheControl(http.StatusOK)
	if s.unchanged(w, r, e, &hd) {
		return nil
	}
	var zbuf *bytes.Buffer
	if hd.contentEncoding != nil {
		if zbuf, err = compressFile(fh, size); err != nil {
			return err
		}
		defer gzipBufs.Put(zbuf)
		size = int64(zbuf.Len())
	}
	hd.contentLength = []string{strconv.FormatInt(size, 10)}
	writeHeader(w, e, &hd, http.StatusOK)
	switch {
	case r.Method == http.MethodHead:
	case zbuf != nil:
		w.Write(zbuf.Bytes())
	default:
		io.CopyN(w, fh, fi.Size())
	}
	s.logFile(r, e, http.StatusOK)
	return nil
}

// compressFile returns the size bytes of fh gzipped, in a gzipBufs buffer.
func compressFile(fh *os.File, size int64) (*bytes.Buffer, error) {
	zbuf := gzipBufs.Get().(*bytes.Buffer)
	zbuf.Reset()
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(zbuf)
	_, err := io.CopyN(zw, fh, size)
	if err = cmp.Or(err, zw.Close()); err != nil {
		gzipBufs.Put(zbuf)
		return nil, err
	}
	return zbuf, nil
}

// Command refserver is the yardstick of bench/serve.sh: the smallest
// net/http server that serves one cached file with the same headers as
// briefcast serve sends for a feed, on a 200 and on a 304 (RFC 9110,
// section 15.4.5: the ETag, Cache-Control and Vary a 200 would carry), with
// the same server timeouts. briefcast serve is measured against it on the
// same bytes with the same client, so the ratio is the cost of briefcast's
// own handler and routing.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	file := flag.String("file", "", "file to serve at every path")
	addr := flag.String("addr", "127.0.0.1:18082", "address to listen on")
	ctype := flag.String("type", "application/rss+xml; charset=utf-8", "Content-Type")
	link := flag.String("link", "", "Link header, as briefcast sends for a feed")
	flag.Parse()
	body, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
	fi, err := os.Stat(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	modified := fi.ModTime().UTC().Format(http.TimeFormat)
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Vary", "Accept-Encoding")
		hd.Set("Cache-Control", "public, max-age=300")
		if r.Header.Get("If-None-Match") == etag {
			hd.Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if *link != "" {
			hd.Set("Link", *link)
		}
		hd.Set("Content-Type", *ctype)
		hd.Set("Content-Length", length)
		hd.Set("ETag", etag)
		hd.Set("Last-Modified", modified)
		hd.Set("X-Content-Type-Options", "nosniff")
		w.Write(body)
	})
	// The timeouts of briefcast serve (server.DefaultTimeouts).
	srv := &http.Server{
		Addr:              *addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       35 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
}

// Command refserver is the yardstick of bench/serve.sh: the smallest
// net/http server that serves one cached file with a strong ETag, checks
// If-None-Match, and writes the bytes in one Write. briefcast serve is
// measured against it on the same bytes with the same client.
//
// With -rfc it also does the two things the bare handler leaves out and
// briefcast must do: a 304 carries the ETag, Cache-Control and Vary that a
// 200 would (RFC 9110, section 15.4.5), and the server sets read, write
// and idle timeouts. That row of the bench shows what those cost.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	file := flag.String("file", "", "file to serve at every path")
	addr := flag.String("addr", "127.0.0.1:18082", "address to listen on")
	ctype := flag.String("type", "application/rss+xml; charset=utf-8", "Content-Type")
	rfc := flag.Bool("rfc", false, "send the validator and caching headers on a 304 and set server timeouts")
	flag.Parse()
	body, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			if *rfc {
				w.Header().Set("ETag", etag)
				w.Header().Set("Cache-Control", "public, max-age=300")
				w.Header().Set("Vary", "Accept-Encoding")
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", *ctype)
		w.Header().Set("ETag", etag)
		w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h}
	if *rfc {
		// The timeouts of briefcast serve (server/server.go).
		srv.ReadHeaderTimeout, srv.ReadTimeout = 5*time.Second, 15*time.Second
		srv.WriteTimeout, srv.IdleTimeout = 30*time.Second, 120*time.Second
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
}

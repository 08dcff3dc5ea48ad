// Command refserver is the yardstick of bench/serve.sh: the smallest
// net/http server that serves one cached file with a strong ETag, checks
// If-None-Match, and writes the bytes in one Write. briefcast serve is
// measured against it on the same bytes with the same client.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
)

func main() {
	file := flag.String("file", "", "file to serve at every path")
	addr := flag.String("addr", "127.0.0.1:18082", "address to listen on")
	ctype := flag.String("type", "application/rss+xml; charset=utf-8", "Content-Type")
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
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", *ctype)
		w.Header().Set("ETag", etag)
		w.Write(body)
	})
	if err := http.ListenAndServe(*addr, h); err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
}

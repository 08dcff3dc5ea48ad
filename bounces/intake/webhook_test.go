package intake

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// post sends body to the handler behind a real loopback server.
func post(t *testing.T, h http.Handler, body []byte, header map[string]string) int {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	return postTo(t, srv.URL, body, header)
}

func postTo(t *testing.T, url string, body []byte, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func sameEvents(t *testing.T, got, want []Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestRecentForgetsOldest(t *testing.T) {
	r := newRecent(2)
	r.add("a")
	r.add("b")
	r.add("c")
	if r.has("a") || !r.has("b") || !r.has("c") {
		t.Errorf("after a, b, c in a window of 2: has a=%v b=%v c=%v; want false, true, true", r.has("a"), r.has("b"), r.has("c"))
	}
}

// startHandler serves h on loopback and returns its URL.
func startHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

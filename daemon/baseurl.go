package daemon

import (
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// warnBaseURL logs a warning when base_url names this machine (localhost,
// 127.0.0.1 or ::1) on a port other than the one bound: every form action
// and every link in a mail would then point at a port nothing listens on,
// as with `serve --listen 127.0.0.1:31000` and the default base_url. A
// public base_url is left alone: a proxy in front may well use another port.
func warnBaseURL(log *slog.Logger, baseURL string, bound net.Addr) {
	u, err := url.Parse(baseURL)
	if err != nil || !isLocalHost(u.Hostname()) {
		return
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if port == strconv.Itoa(tcp.Port) {
		return
	}
	log.Warn("base_url_port_mismatch",
		"base_url", baseURL, "listen", bound.String(),
		"hint", "links in pages and mail point at port "+port+" but serve listens on port "+strconv.Itoa(tcp.Port)+"; set [site] base_url to match")
}

func isLocalHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

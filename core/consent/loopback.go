package consent

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// Loopback is the listener on 127.0.0.1 that receives Google's redirect
// with the code, so the user only has to choose Allow.
type Loopback struct {
	uri  string
	path string
	ln   net.Listener
	srv  *http.Server
	got  chan string
}

// ListenLoopback listens for the redirect URI: on its port when it names
// one (a Web client registers the exact URI), else on a port the OS picks,
// which Google accepts for a loopback URI registered without a port.
func ListenLoopback(redirect string) (*Loopback, error) {
	u, err := url.Parse(redirect)
	if err != nil || !core.IsLoopbackURI(redirect) {
		return nil, core.Inputf("the redirect URI %s is not a loopback address (http://127.0.0.1...), so this terminal cannot receive the code; use --paste and paste the address the browser ends on", redirect)
	}
	host := u.Hostname()
	listenHost := host
	if host == "localhost" {
		listenHost = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = "0"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(listenHost, port))
	if err != nil {
		return nil, &core.InputError{Msg: fmt.Sprintf("cannot listen on %s for the redirect URI %s (%v); close the program using that port, or use --paste", net.JoinHostPort(listenHost, port), redirect, core.WithoutPath(err)), Env: true}
	}
	if u.Port() == "" {
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		if strings.Contains(host, ":") {
			u.Host = "[" + host + "]:" + p
		} else {
			u.Host = host + ":" + p
		}
	}
	l := &Loopback{uri: u.String(), path: cmp.Or(u.Path, "/"), ln: ln, got: make(chan string, 1)}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

// RedirectURI is the exact redirect URI, with the port that was chosen.
func (l *Loopback) RedirectURI() string { return l.uri }

func (l *Loopback) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if cmp.Or(r.URL.Path, "/") != l.path || (q.Get("code") == "" && q.Get("error") == "") {
		http.NotFound(w, r)
		return
	}
	full := l.uri
	if i := strings.IndexByte(full, '?'); i >= 0 {
		full = full[:i]
	}
	select {
	case l.got <- full + "?" + r.URL.RawQuery:
	default:
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	msg := "mailoauth received Google's answer. You can close this tab and return to the terminal."
	if e := q.Get("error"); e != "" {
		msg = "Google answered " + html.EscapeString(e) + ". Return to the terminal for what to do."
	}
	fmt.Fprintf(w, "<!doctype html><title>mailoauth</title><p>%s</p>\n", msg)
}

// Wait returns the redirected URL, or the context's error.
func (l *Loopback) Wait(ctx context.Context) (string, error) {
	select {
	case u := <-l.got:
		return u, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Close stops the listener.
func (l *Loopback) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.srv.Shutdown(ctx)
}

// OpenBrowser opens url in the desktop's browser when there is one (a
// display on Linux, or macOS / Windows); it reports false when it could not,
// and the caller shows the URL instead (it always shows it anyway).
func OpenBrowser(u string) bool {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return false
		}
		p, err := exec.LookPath("xdg-open")
		if err != nil {
			return false
		}
		cmd = exec.Command(p, u)
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	go func() { _ = cmd.Wait() }()
	return true
}

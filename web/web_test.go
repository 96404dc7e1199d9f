package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/softphone/softphone/web"
)

// TestHandler: the client's files are served with their types, revalidated
// on every load and confined by a content security policy; other methods
// are refused.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for path, want := range map[string]struct{ ctype, body string }{
		"/":                 {"text/html", `<script type="module" src="js/app.js">`},
		"/app.css":          {"text/css", ":root"},
		"/js/necallkit.js":  {"text/javascript", "export class NECallKit"},
		"/js/signaling.js":  {"text/javascript", "export class Signaling"},
		"/js/media.js":      {"text/javascript", "export class MediaSession"},
		"/js/i18n.js":       {"text/javascript", "已完成"},
		"/js/app.js":        {"text/javascript", "softphoneApp"},
		"/js/quality.js":    {"text/javascript", "export function mosFromR"},
		"/index.html":       {"", ""}, // redirects to /
		"/nosuch.js":        {"", ""},
		"/../web.go":        {"", ""},
		"/js/../../web.go":  {"", ""},
		"/static/index.htm": {"", ""},
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want.ctype == "" {
			if resp.StatusCode == http.StatusOK && path != "/index.html" {
				t.Errorf("GET %s: 200, want an error", path)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), want.ctype) || !strings.Contains(string(body), want.body) {
			t.Errorf("GET %s: %d %s %.60q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("GET %s: no %s", path, h)
			}
		}
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", resp.StatusCode)
	}
}

// TestNoForeignScripts: the client loads nothing from elsewhere: every
// import is a relative module path, and there is no external URL.
func TestNoForeignScripts(t *testing.T) {
	err := fs.WalkDir(web.Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Files(), path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "import ") && !strings.Contains(line, "'./") {
				t.Errorf("%s:%d: import that is not a relative module: %s", path, i+1, line)
			}
			if strings.Contains(line, "http://") || strings.Contains(line, "https://") || strings.Contains(line, "//cdn") {
				t.Errorf("%s:%d: external URL: %s", path, i+1, line)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

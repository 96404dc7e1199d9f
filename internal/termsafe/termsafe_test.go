package termsafe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Alice Zhang", "Alice Zhang"},
		{"chinese", "张伟", "张伟"},
		{"emoji with joiner", "👩\u200d💻", "👩\u200d💻"},
		{"the probe's nickname", "\x1b]0;pwned\a\x1b[2J\x1b[38;2;1;2;3mEVIL", `\x1b]0;pwned\x07\x1b[2J\x1b[38;2;1;2;3mEVIL`},
		{"newline and tab", "a\nb\tc\rd", `a\nb\tc\rd`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI", "a\u009b31mred", `a\u009b31mred`},
		{"C1 OSC and ST", "\u009d0;t\u009c", `\u009d0;t\u009c`},
		{"bidi override", "evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"bidi isolates", "\u2066x\u2069\u2067y\u2068", `\u2066x\u2069\u2067y\u2068`},
		{"marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"line separator", "a\u2028b\u2029", `a\u2028b\u2029`},
		{"soft hyphen and BOM", "a\u00adb\ufeff", `a\u00adb\ufeff`},
		{"tag character", "x\U000e0041", `x\U000e0041`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"NUL", "a\x00b", `a\x00b`},
		{"backslash text stays", `C:\x1b`, `C:\x1b`},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("%s: String(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	in := "line one\n\tline two\r\x1b[Kthree"
	want := "line one\n\tline two\\r\\x1b[Kthree"
	if got := Text(in); got != want {
		t.Fatalf("Text(%q) = %q, want %q", in, got, want)
	}
}

func TestWidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"abc", 3},
		{"张伟", 4},
		{"\x1b[2J", len(`\x1b[2J`)}, // the escape is shown, so it takes cells
		{"\u202e", len(`\u202e`)},
		{"", 0},
	} {
		if got := Width(tc.in); got != tc.want {
			t.Errorf("Width(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestTruncateAndPad(t *testing.T) {
	if got := Truncate("\x1b[31mred", 6, "…"); got != `\x1b[…` {
		t.Errorf("Truncate = %q", got)
	}
	if got := Truncate("张伟伟", 5, ""); ansi.StringWidth(got) > 5 {
		t.Errorf("Truncate(张伟伟, 5) = %q, %d cells", got, ansi.StringWidth(got))
	}
	if got := Truncate("abc", 0, "…"); got != "" {
		t.Errorf("Truncate to 0 = %q", got)
	}
	if got := Pad("张", 4); got != "张  " {
		t.Errorf("Pad(张, 4) = %q", got)
	}
	if got := Pad("\a", 6); got != `\x07  ` {
		t.Errorf("Pad(BEL, 6) = %q", got)
	}
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	full := "ok 张\x1b[2J\n"
	// Split inside the three bytes of 张 and right after ESC.
	for _, part := range []string{full[:4], full[4:5], full[5:7], full[7:8], full[8:]} {
		if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
			t.Fatalf("Write(%q) = %d, %v", part, n, err)
		}
	}
	if _, err := w.Write([]byte{0xe5}); err != nil { // a dangling lead byte
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "ok 张\\x1b[2J\n\\xe5"; out.String() != want {
		t.Fatalf("writer wrote %q, want %q", out.String(), want)
	}
}

// checkSafe fails when out holds anything a terminal could act on.
func checkSafe(t *testing.T, in, out string, multiline bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%q → %q: invalid UTF-8", in, out)
	}
	for _, r := range out {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' ||
			(unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d') {
			t.Fatalf("%q → %q: %U left in", in, out, r)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;pwned\a\x1b[2J", "\u202eabc", "\xff\xfe", "a\u009b2J", "张\u200d伟", "x\r\n\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := String(in)
		checkSafe(t, in, out, false)
		if String(out) != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, String(out))
		}
		if !Safe(out) || Safe(in) != (out == in) {
			t.Fatalf("Safe disagrees with String for %q", in)
		}
		if Width(in) != ansi.StringWidth(out) {
			t.Fatalf("Width(%q) = %d, cells of %q = %d", in, Width(in), out, ansi.StringWidth(out))
		}
		if tr := Truncate(in, 8, "…"); ansi.StringWidth(tr) > 8 || !strings.HasPrefix(out, strings.TrimSuffix(tr, "…")) {
			t.Fatalf("Truncate(%q, 8) = %q", in, tr)
		}
		text := Text(in)
		checkSafe(t, in, text, true)
		if strings.Count(text, "\n") != strings.Count(in, "\n") {
			t.Fatalf("Text(%q) = %q changed the lines", in, text)
		}
	})
}

// FuzzWriter: writing in two pieces gives what Text gives for the whole.
func FuzzWriter(f *testing.F) {
	f.Add("ok 张\x1b[2J\n", 4)
	f.Add("\xe5\xbc", 1)
	f.Fuzz(func(t *testing.T, in string, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		var out bytes.Buffer
		w := NewWriter(&out)
		_, _ = w.Write([]byte(in[:cut]))
		_, _ = w.Write([]byte(in[cut:]))
		_ = w.Flush()
		if want := Text(in); out.String() != want {
			t.Fatalf("split %q at %d: wrote %q, want %q", in, cut, out.String(), want)
		}
	})
}

func TestJSON(t *testing.T) {
	v := map[string]string{"name": "\x1b]0;t\a\u009b2J\u202eevil\U000e0041", "ok": "张伟"}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	safe := JSON(append(b, '\n'))
	checkSafe(t, string(b), string(safe), true)
	var back map[string]string
	if err := json.Unmarshal(safe, &back); err != nil || back["name"] != v["name"] || back["ok"] != v["ok"] {
		t.Fatalf("JSON(%s) = %s decodes to %q, %v", b, safe, back, err)
	}
	if !strings.Contains(string(safe), `\u009b`) || !strings.Contains(string(safe), `\udb40\udc41`) {
		t.Fatalf("escapes missing in %s", safe)
	}
	plain := []byte(`{"a":"b"}`)
	if got := JSON(plain); &got[0] != &plain[0] {
		t.Fatal("clean JSON was copied")
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	err := WriteTable(&b, [][]string{
		{"ACCOUNT", "NAME", "CREATED"},
		{"zhang", "张伟", "2026"},
		{"evil", "\x1b[2Jx", "2026"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ACCOUNT  NAME      CREATED\n" +
		"zhang    张伟      2026\n" +
		"evil     \\x1b[2Jx  2026\n"
	if b.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// FuzzJSON: whatever JSON encoding/json produces for a string, JSON makes
// it printable and it still decodes to the same string.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "\x1b[2J", "\u009b\u202e", "\U000e0041", "\xff", "a\"b\\c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		safe := JSON(b)
		checkSafe(t, in, string(safe), false)
		var out, want string
		if err := json.Unmarshal(safe, &out); err != nil {
			t.Fatalf("JSON(%s) = %s: %v", b, safe, err)
		}
		_ = json.Unmarshal(b, &want)
		if out != want {
			t.Fatalf("JSON(%s) = %s decodes to %q, want %q", b, safe, out, want)
		}
	})
}

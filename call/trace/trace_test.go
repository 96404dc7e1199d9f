package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const token = "tok-3f9a7c1e5b"

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"login frame", json.RawMessage(`{"v":1,"type":"login","id":"1","data":{"account":"alice","token":"` + token + `","checkSum":true}}`),
			`{"data":{"account":"alice","checkSum":true,"token":"[redacted]"},"id":"1","type":"login","v":1}`},
		{"nested and arrays", map[string]any{"iceServers": []any{map[string]any{"urls": []string{"turn:1.2.3.4:3478"}, "username": "u", "credential": "pw"}}},
			`{"iceServers":[{"credential":"[redacted]","urls":["turn:1.2.3.4:3478"],"username":"u"}]}`},
		{"key spellings", map[string]any{"imToken": "a", "IM_TOKEN": "b", "serve.appSecret": "c", "Authorization": "d", "channelToken": "e", "mediaToken": "f", "password": 12, "passport": "g"},
			`{"Authorization":"[redacted]","IM_TOKEN":"[redacted]","channelToken":"[redacted]","imToken":"[redacted]","mediaToken":"[redacted]","passport":"[redacted]","password":"[redacted]","serve.appSecret":"[redacted]"}`},
		{"empty and null kept", map[string]any{"token": "", "secret": nil, "checkSum": false},
			`{"checkSum":false,"secret":null,"token":""}`},
		{"object under a secret key", map[string]any{"credential": map[string]any{"user": "x"}}, `{"credential":"[redacted]"}`},
		{"sdp ice-pwd", map[string]any{"sdp": "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:s3cretpassw0rd\r\n"},
			`{"sdp":"v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:[redacted]\r\n"}`},
		{"url password", map[string]any{"server": "wss://bob:hunter2@example.com/v1/ws"}, `{"server":"wss://bob:[redacted]@example.com/v1/ws"}`},
		{"query token", map[string]any{"url": "ws://h/v1/ws?imToken=abc&x=1"}, `{"url":"ws://h/v1/ws?imToken=[redacted]\u0026x=1"}`},
		{"bearer", map[string]any{"header": "Bearer abc.def"}, `{"header":"Bearer [redacted]"}`},
		{"not json", []byte("garbage token=1"), `"garbage token=1"`},
		{"numbers exact", json.RawMessage(`{"n":12345678901234567890}`), `{"n":12345678901234567890}`},
	} {
		got, err := Redact(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"token": true, "imToken": true, "appSecret": true, "credential": true, "Authorization": true,
		"checkSum": true, "channel_token": true, "account": false, "username": false, "tokenExpiresAt": false,
		"credentialType": false, "appKey": false,
	} {
		if got := SecretKey(key); got != want {
			t.Errorf("SecretKey(%q) = %t, want %t", key, got, want)
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.AddSecret(token)
	src := Source{Account: "alice", Device: "d1"}
	t0 := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	w.Log(t0, src, KindSignalOut, json.RawMessage(`{"v":1,"type":"call","id":"2","data":{"callee":"bob","callType":1}}`))
	w.Log(t0.Add(100*time.Millisecond), src, KindSignalIn, json.RawMessage(`{"v":1,"type":"reply","id":"2","data":{"channelId":"c1"}}`))
	w.Log(t0.Add(150*time.Millisecond), src, KindState, map[string]string{"from": "idle", "to": "calling", "channelId": "c1"})
	w.Log(t0.Add(200*time.Millisecond), src, KindEvent, map[string]any{"name": "ERROR_TEXT", "data": map[string]string{"error": "login with " + token + " refused"}})
	w.Log(t0.Add(time.Second), src, KindICELocal, map[string]any{"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"})
	w.Log(t0.Add(2*time.Second), src, KindStats, map[string]any{"mos": 4.2, "rttMs": 80, "lossPct": 1.5, "remoteLossPct": 10})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Log(t0, src, KindEvent, nil) // after Close: dropped, no panic
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Fatalf("trace contains the token:\n%s", raw)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("trace file mode %v, want 0600", st.Mode().Perm())
	}
	recs, err := Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || recs[0].Kind != KindVersion || recs[6].Kind != KindStats {
		t.Fatalf("read %d records: %+v", len(recs), recs)
	}
	var v VersionInfo
	if err := json.Unmarshal(recs[0].Data, &v); err != nil || !strings.HasPrefix(v.Go, "go") || v.OS == "" {
		t.Errorf("version record %s: %v", recs[0].Data, err)
	}
	if recs[1].Account != "alice" || recs[1].Device != "d1" || !recs[1].Time.Equal(t0) {
		t.Errorf("record 1 = %+v", recs[1])
	}

	var out bytes.Buffer
	if err := Show(&out, recs[1:]); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"+0.000s  alice        signal.out → call #2 callee=bob callType=1",
		"+0.100s  alice        signal.in  ← reply #2 ok channel=c1",
		"+0.150s  alice        state      idle → calling (channel c1)",
		"ERROR_TEXT error=login with [redacted] refused",
		"+1.000s  alice        ice.local  udp host 127.0.0.1:5000",
		"+2.000s  alice        stats      mos 4.20 · rtt 80 ms · loss 1.5% · remote loss 10.0%",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Show output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNilWriter(t *testing.T) {
	var w *Writer
	w.Log(time.Now(), Source{}, KindEvent, "x")
	w.AddSecret("abcdefgh")
	if err := errors.Join(w.Flush(), w.Close(), w.Err()); err != nil {
		t.Fatal(err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorKept(t *testing.T) {
	w := NewWriter(failWriter{})
	for range 2000 { // more than the buffer
		w.Log(time.Now(), Source{}, KindEvent, map[string]string{"pad": strings.Repeat("x", 100)})
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the write error", err)
	}
}

func TestReadErrors(t *testing.T) {
	good := `{"t":"2026-11-26T11:00:00Z","kind":"event","data":{"name":"X"}}`
	for _, tc := range []struct {
		name, in, want string
		n              int
	}{
		{"empty", "", "", 0},
		{"blank lines", "\n" + good + "\n\n" + good + "\n", "", 2},
		{"not json", good + "\nhello\n", "line 2: not a JSON object", 1},
		{"truncated", good + "\n" + good[:30], "line 2: not a trace record", 1},
		{"no time", `{"kind":"x"}`, `line 1: no time ("t")`, 0},
		{"no kind", `{"t":"2026-11-26T11:00:00Z"}`, "line 1: no kind", 0},
		{"bad kind", `{"t":"2026-11-26T11:00:00Z","kind":"a\u0000b"}`, "unprintable", 0},
		{"bad time", `{"t":"yesterday","kind":"x"}`, "line 1: not a trace record", 0},
		{"too long", `{"t":"2026-11-26T11:00:00Z","kind":"x","data":"` + strings.Repeat("a", MaxLine) + `"}`, "longer than", 0},
	} {
		recs, err := Read(strings.NewReader(tc.in))
		if len(recs) != tc.n {
			t.Errorf("%s: %d records, want %d", tc.name, len(recs), tc.n)
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want ErrInvalid with %q", tc.name, err, tc.want)
		}
	}
}

// TestShowAccounts: the account column holds accounts only; records from
// before the login show "–", and an account with several devices shows
// which one.
func TestShowAccounts(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	ev := json.RawMessage(`{"name":"PRESENCE"}`)
	recs := []Record{
		{Time: t0, Kind: KindEvent, Device: "d-9f3a", Data: ev},
		{Time: t0, Kind: KindEvent, Account: "alice", Device: "a1", Data: ev},
		{Time: t0, Kind: KindEvent, Account: "bob", Device: "b1", Data: ev},
		{Time: t0, Kind: KindEvent, Account: "bob", Device: "b2", Data: ev},
	}
	var out bytes.Buffer
	if err := Show(&out, recs); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "d-9f3a") || !strings.Contains(got, "s  –  ") {
		t.Errorf("a device id in the account column:\n%s", got)
	}
	if !strings.Contains(got, "s  alice  ") || strings.Contains(got, "alice/") || !strings.Contains(got, "bob/b1") || !strings.Contains(got, "bob/b2") {
		t.Errorf("accounts and devices:\n%s", got)
	}
	if !strings.Contains(got, "account") {
		t.Errorf("no column header:\n%s", got)
	}
}

func TestWriteStats(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	var recs []Record
	for i := range 6 {
		s := Sample{UserID: "bob", Mos: 4 + float64(i)/10, RttMs: float64(i * 20), LossPct: float64(i), JitterMs: 2, SendKbps: 100, RecvKbps: 90}
		b, _ := json.Marshal(s)
		recs = append(recs, Record{Time: t0.Add(time.Duration(i) * time.Second), Kind: KindStats, Account: "alice", Data: b})
	}
	ev, _ := json.Marshal(map[string]any{"name": "STATS", "data": Sample{Mos: 3, LossPct: 10}})
	recs = append(recs, Record{Time: t0, Kind: KindEvent, Account: "bob", Data: ev})

	series := Samples(recs)
	if len(series) != 2 {
		t.Fatalf("%d series, want 2", len(series))
	}
	q := Summarize(series[0])
	// RTT 0 (first sample) means "not measured yet" and is left out.
	if q.Samples != 6 || q.RttMs.N != 5 || q.RttMs.Min != 20 || q.RttMs.Max != 100 || q.LossPct.Avg != 2.5 || q.Mos.Min != 4 {
		t.Errorf("summary %+v", q)
	}
	var out bytes.Buffer
	if err := WriteStats(&out, recs, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"alice with bob: 6 samples over 5 s",
		"  RTT ms              20.00    60.00   100.00",
		"  loss %               0.00     2.50     5.00",
		"  per 2s:",
		"       +2s   4.25      50     2.5     0.0       2.0       100        90",
		"bob: 1 samples",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("WriteStats output lacks %q:\n%s", want, out.String())
		}
	}
	// Samples a little early or late each keep a row of their own; a
	// gap is a row of dashes; the loss the peer reports is its own column.
	recs = nil
	for i, ms := range []int{0, 998, 2003, 2997, 6001} {
		s := Sample{UserID: "bob", Mos: 4, LossPct: 0, RemoteLossPct: float64(10 + i), SendKbps: 100}
		b, _ := json.Marshal(s)
		recs = append(recs, Record{Time: t0.Add(time.Duration(ms) * time.Millisecond), Kind: KindStats, Account: "alice", Data: b})
	}
	out.Reset()
	if err := WriteStats(&out, recs, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"       +1s   4.00       –     0.0    11.0",
		"       +3s   4.00       –     0.0    13.0",
		"       +4s      –       –       –       –",
		"       +6s   4.00       –     0.0    14.0",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("per-second rows lack %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "s   4.00"); n != 5 {
		t.Errorf("%d rows with a sample, want 5:\n%s", n, out.String())
	}

	out.Reset()
	_ = WriteStats(&out, recs[:0], 0)
	if !strings.Contains(out.String(), "no STATS samples") {
		t.Errorf("empty trace: %q", out.String())
	}
}

// FuzzRead: trace files come from customers. The reader must never panic,
// and every record it accepts must survive a write and a second read.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"t":"2026-11-26T11:00:00Z","kind":"event","account":"a","data":{"name":"STATS","data":{"mos":4}}}` + "\n"))
	f.Add([]byte(`{"t":"2026-11-26T11:00:00.5Z","kind":"signal.in","data":{"type":"reply","id":"1","code":401}}`))
	f.Add([]byte("{}\n\n{\"t\":1}"))
	f.Add([]byte(`{"t":"2026-11-26T11:00:00Z","kind":"ice.pair","data":{"local":{"type":"host"}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, _ := Read(bytes.NewReader(in))
		var out bytes.Buffer
		_ = Show(&out, recs)
		_ = WriteStats(&out, recs, 0)
		var buf bytes.Buffer
		for _, r := range recs {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("accepted record does not marshal: %v", err)
			}
			buf.Write(append(b, '\n'))
		}
		again, err := Read(&buf)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-read of %d accepted records: %d, %v", len(recs), len(again), err)
		}
	})
}

package trace

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/softphone/softphone/internal/termsafe"
)

// maxSummary bounds one summary line of Show.
const maxSummary = 160

// Show writes a readable timeline: one line per record with the time
// relative to the first record, the source (account, else device), the
// kind and a one-line summary.
func Show(w io.Writer, recs []Record) error {
	if len(recs) == 0 {
		_, err := fmt.Fprintln(w, "(empty trace)")
		return err
	}
	base := recs[0].Time
	for _, r := range recs {
		if r.Time.Before(base) {
			base = r.Time
		}
	}
	if _, err := fmt.Fprintf(w, "trace started %s\n", base.UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	// The second column is the account; records from before the login
	// have none ("–"). When an account has several devices in the trace,
	// the device follows it, so their lines can be told apart.
	devices := map[string]map[string]bool{}
	for _, r := range recs {
		if r.Account != "" && r.Device != "" {
			if devices[r.Account] == nil {
				devices[r.Account] = map[string]bool{}
			}
			devices[r.Account][r.Device] = true
		}
	}
	if _, err := fmt.Fprintf(w, "%11s  %-12s %-10s %s\n", "time", "account", "kind", "what"); err != nil {
		return err
	}
	for _, r := range recs {
		src := r.Account
		switch {
		case src == "":
			src = "–"
		case len(devices[src]) > 1:
			src += "/" + r.Device
		}
		// Everything but the time comes from the trace file, which may come
		// from anyone: escaped, and padded by display width.
		line := fmt.Sprintf("%+10.3fs  %s %s %s", r.Time.Sub(base).Seconds(),
			termsafe.Pad(termsafe.Truncate(src, 40, "…"), 12), termsafe.Pad(termsafe.Truncate(r.Kind, 40, "…"), 10),
			clip(Summary(r), maxSummary))
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}

// clip keeps s on one line, escaped, and shortens it to n cells.
func clip(s string, n int) string {
	return termsafe.Truncate(strings.Join(strings.Fields(s), " "), n, "…")
}

// frame is the part of a signaling frame Summary shows.
type frame struct {
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Event string          `json:"event"`
	Code  json.Number     `json:"code"`
	Error string          `json:"error"`
	Data  json.RawMessage `json:"data"`
}

// payload holds the fields of frames and events worth a glance.
type payload struct {
	ChannelID string          `json:"channelId"`
	From      string          `json:"from"`
	To        string          `json:"to"`
	UserID    string          `json:"userId"`
	Account   string          `json:"account"`
	Callee    string          `json:"callee"`
	Reason    string          `json:"reason"`
	Kind      string          `json:"kind"`
	Status    json.Number     `json:"status"`
	Text      string          `json:"text"`
	CallType  json.RawMessage `json:"callType"`
	State     json.RawMessage `json:"state"`
	Error     string          `json:"error"`
}

func (p payload) brief() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("channel", p.ChannelID)
	add("from", p.From)
	add("to", p.To)
	add("user", p.UserID)
	add("account", p.Account)
	add("callee", p.Callee)
	add("kind", p.Kind)
	add("callType", strings.Trim(string(p.CallType), `"`))
	add("state", strings.Trim(string(p.State), `"`))
	add("status", p.Status.String())
	add("text", p.Text)
	add("reason", p.Reason)
	add("error", p.Error)
	return strings.Join(parts, " ")
}

// Summary is the one-line description of a record that Show prints.
func Summary(r Record) string {
	switch r.Kind {
	case KindVersion:
		var v VersionInfo
		if json.Unmarshal(r.Data, &v) == nil {
			s := fmt.Sprintf("%s %s %s/%s", v.Module, v.Version, v.OS, v.Arch)
			if v.Revision != "" {
				s += " rev " + v.Revision[:min(len(v.Revision), 12)]
			}
			return s + " " + v.Go
		}
	case KindSignalIn, KindSignalOut:
		var f frame
		if json.Unmarshal(r.Data, &f) == nil && f.Type != "" {
			arrow := "→"
			if r.Kind == KindSignalIn {
				arrow = "←"
			}
			var p payload
			_ = json.Unmarshal(f.Data, &p)
			switch f.Type {
			case "event":
				return strings.TrimSpace(fmt.Sprintf("%s event %s %s", arrow, f.Event, p.brief()))
			case "reply":
				res := "ok"
				if c := f.Code.String(); c != "" && c != "0" {
					res = fmt.Sprintf("error %s %s", c, f.Error)
				}
				return strings.TrimSpace(fmt.Sprintf("%s reply #%s %s %s", arrow, f.ID, res, p.brief()))
			}
			return strings.TrimSpace(fmt.Sprintf("%s %s #%s %s", arrow, f.Type, f.ID, p.brief()))
		}
	case KindEvent:
		var e struct {
			Name string          `json:"name"`
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(r.Data, &e) == nil && e.Name != "" {
			if e.Name == "STATS" {
				return e.Name + " " + statsLine(e.Data)
			}
			var p payload
			_ = json.Unmarshal(e.Data, &p)
			return strings.TrimSpace(e.Name + " " + p.brief())
		}
	case KindState:
		var s struct{ From, To, ChannelID string }
		if json.Unmarshal(r.Data, &s) == nil && s.To != "" {
			out := s.From + " → " + s.To
			if s.ChannelID != "" {
				out += " (channel " + s.ChannelID + ")"
			}
			return out
		}
	case KindICELocal, KindICERemote:
		var c struct {
			Candidate string `json:"candidate"`
		}
		if json.Unmarshal(r.Data, &c) == nil && c.Candidate != "" {
			return candidateLine(c.Candidate)
		}
	case KindICEPair:
		var p struct {
			Local, Remote struct {
				Type, Protocol, Address string
				Port                    int
			}
		}
		if json.Unmarshal(r.Data, &p) == nil && p.Local.Type != "" {
			return fmt.Sprintf("local %s %s %s:%d ↔ remote %s %s %s:%d",
				p.Local.Type, p.Local.Protocol, p.Local.Address, p.Local.Port,
				p.Remote.Type, p.Remote.Protocol, p.Remote.Address, p.Remote.Port)
		}
	case KindStats:
		return statsLine(r.Data)
	case KindConfig:
		var c struct {
			Config map[string]any    `json:"config"`
			Origin map[string]string `json:"origin"`
			Media  json.RawMessage   `json:"media"`
		}
		if json.Unmarshal(r.Data, &c) == nil && c.Config != nil {
			keys := "keys"
			if len(c.Origin) == 1 {
				keys = "key"
			}
			s := fmt.Sprintf("server=%v account=%v (%d %s set explicitly)", c.Config["server"], c.Config["account"], len(c.Origin), keys)
			var m map[string]any
			if json.Unmarshal(c.Media, &m) == nil {
				s += " media: " + flat(m, "audioIn", "audioOut", "videoIn", "impair", "relayOnly")
			}
			return s
		}
	case KindDevices:
		var m map[string]any
		if json.Unmarshal(r.Data, &m) == nil {
			s := flat(m, "audioIn", "audioOut", "videoIn", "media")
			if pa, ok := m["portaudio"].([]any); ok {
				s += fmt.Sprintf(" portaudio: %d devices", len(pa))
			} else if pa, ok := m["portaudio"].(string); ok {
				s += " portaudio: " + pa
			}
			if cams, ok := m["cameras"].([]any); ok {
				s += fmt.Sprintf(" cameras: %d", len(cams))
			}
			return s
		}
	}
	var m map[string]any
	if json.Unmarshal(r.Data, &m) == nil {
		return flat(m)
	}
	return compact(r.Data)
}

// flat renders the scalar fields of m as "k=v" pairs: the keys given, in
// that order, or all scalar keys sorted. Nested values are left out.
func flat(m map[string]any, keys ...string) string {
	if len(keys) == 0 {
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	var parts []string
	for _, k := range keys {
		switch v := m[k].(type) {
		case nil, map[string]any, []any:
		case string:
			if v != "" {
				parts = append(parts, k+"="+v)
			}
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

// candidateLine turns "candidate:1 1 udp 2130706431 10.0.0.2 5000 typ host"
// into "udp host 10.0.0.2:5000".
func candidateLine(c string) string {
	f := strings.Fields(strings.TrimPrefix(c, "candidate:"))
	if len(f) < 8 || f[6] != "typ" {
		return c
	}
	return fmt.Sprintf("%s %s %s:%s", strings.ToLower(f[2]), f[7], f[4], f[5])
}

// compact renders data as one line of JSON (keys sorted).
func compact(data json.RawMessage) string {
	if len(data) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return string(data)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Sample is the part of a STATS sample (call.CallStats) the stats views
// use.
type Sample struct {
	ChannelID     string  `json:"channelId"`
	UserID        string  `json:"userId"`
	Mos           float64 `json:"mos"`
	RttMs         float64 `json:"rttMs"`
	LossPct       float64 `json:"lossPct"`
	RemoteLossPct float64 `json:"remoteLossPct"`
	JitterMs      float64 `json:"jitterMs"`
	SendKbps      float64 `json:"sendKbps"`
	RecvKbps      float64 `json:"recvKbps"`
	Fps           float64 `json:"fps"`
	ConcealedPct  float64 `json:"concealedPct"`
}

func statsLine(data json.RawMessage) string {
	var s Sample
	if json.Unmarshal(data, &s) != nil {
		return compact(data)
	}
	rtt := "–"
	if s.RttMs > 0 {
		rtt = fmt.Sprintf("%.0f ms", s.RttMs)
	}
	// Remote loss is what the peer reports of our stream: an impaired
	// sender shows there, never in its own loss.
	return fmt.Sprintf("mos %.2f · rtt %s · loss %.1f%% · remote loss %.1f%% · jitter %.1f ms · send %.0f kbps · recv %.0f kbps",
		s.Mos, rtt, s.LossPct, s.RemoteLossPct, s.JitterMs, s.SendKbps, s.RecvKbps)
}

// TimedSample is one STATS sample with its time.
type TimedSample struct {
	Time time.Time
	Sample
}

// Series is the STATS samples of one source, in file order.
type Series struct {
	Source  Source
	Samples []TimedSample
}

// Samples extracts the STATS samples of a trace per source (STATS events
// and stats records both count).
func Samples(recs []Record) []Series {
	idx := map[Source]int{}
	var out []Series
	for _, r := range recs {
		data := r.Data
		switch r.Kind {
		case KindStats:
		case KindEvent:
			var e struct {
				Name string          `json:"name"`
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal(r.Data, &e) != nil || e.Name != "STATS" {
				continue
			}
			data = e.Data
		default:
			continue
		}
		var s Sample
		if json.Unmarshal(data, &s) != nil {
			continue
		}
		src := Source{Account: r.Account, Device: r.Device}
		i, ok := idx[src]
		if !ok {
			i = len(out)
			idx[src] = i
			out = append(out, Series{Source: src})
		}
		out[i].Samples = append(out[i].Samples, TimedSample{Time: r.Time, Sample: s})
	}
	return out
}

// Range is min/avg/max of one metric over the samples that have it.
type Range struct {
	N             int
	Min, Avg, Max float64
}

func (r *Range) add(v float64) {
	if r.N == 0 || v < r.Min {
		r.Min = v
	}
	if r.N == 0 || v > r.Max {
		r.Max = v
	}
	r.Avg = (r.Avg*float64(r.N) + v) / float64(r.N+1)
	r.N++
}

// Quality summarises one series.
type Quality struct {
	Source                                                   Source
	Start, End                                               time.Time
	Samples                                                  int
	Mos, RttMs, LossPct, RemoteLossPct, JitterMs, Send, Recv Range
}

// Summarize computes min/avg/max of each metric. RTT is counted only once
// measured (0 means no RTCP round trip yet).
func Summarize(s Series) Quality {
	q := Quality{Source: s.Source, Samples: len(s.Samples)}
	for i, t := range s.Samples {
		if i == 0 {
			q.Start = t.Time
		}
		q.End = t.Time
		q.Mos.add(t.Mos)
		if t.RttMs > 0 {
			q.RttMs.add(t.RttMs)
		}
		q.LossPct.add(t.LossPct)
		q.RemoteLossPct.add(t.RemoteLossPct)
		q.JitterMs.add(t.JitterMs)
		q.Send.add(t.SendKbps)
		q.Recv.add(t.RecvKbps)
	}
	return q
}

// WriteStats writes, per source, the quality summary (min/avg/max of MOS,
// RTT, loss, jitter and rates) and a table of averages per interval;
// interval 0 picks one giving at most 30 rows.
func WriteStats(w io.Writer, recs []Record, interval time.Duration) error {
	series := Samples(recs)
	if len(series) == 0 {
		_, err := fmt.Fprintln(w, "no STATS samples in this trace (no media session was connected)")
		return err
	}
	sort.SliceStable(series, func(i, j int) bool { return series[i].Source.Account < series[j].Source.Account })
	var b strings.Builder
	for n, s := range series {
		if n > 0 {
			b.WriteString("\n")
		}
		q := Summarize(s)
		name := s.Source.Account
		if name == "" {
			name = s.Source.Device
		}
		peer := ""
		if last := s.Samples[len(s.Samples)-1]; last.UserID != "" {
			peer = " with " + last.UserID
		}
		fmt.Fprintf(&b, "%s%s: %d samples over %.0f s\n", termsafe.String(name), termsafe.String(peer), q.Samples, q.End.Sub(q.Start).Seconds())
		fmt.Fprintf(&b, "  %-16s %8s %8s %8s\n", "metric", "min", "avg", "max")
		for _, m := range []struct {
			name string
			r    Range
		}{
			{"MOS", q.Mos}, {"RTT ms", q.RttMs}, {"loss %", q.LossPct}, {"remote loss %", q.RemoteLossPct},
			{"jitter ms", q.JitterMs}, {"send kbps", q.Send}, {"recv kbps", q.Recv},
		} {
			if m.r.N == 0 {
				fmt.Fprintf(&b, "  %-16s %8s %8s %8s\n", m.name, "–", "–", "–")
				continue
			}
			fmt.Fprintf(&b, "  %-16s %8.2f %8.2f %8.2f\n", m.name, m.r.Min, m.r.Avg, m.r.Max)
		}
		iv := interval
		if iv <= 0 {
			iv = pickInterval(q.End.Sub(q.Start))
		}
		// loss % is what we lose of the peer's stream, remote loss % what
		// the peer reports losing of ours: an impaired sender shows there.
		fmt.Fprintf(&b, "  per %v:\n  %8s %6s %7s %7s %7s %9s %9s %9s\n", iv, "time", "MOS", "RTT ms", "loss %", "rloss %", "jitter ms", "send kbps", "recv kbps")
		for _, row := range buckets(s.Samples, q.Start, iv) {
			if row.mos.N == 0 {
				fmt.Fprintf(&b, "  %+7.0fs %6s %7s %7s %7s %9s %9s %9s\n", row.at.Seconds(), "–", "–", "–", "–", "–", "–", "–")
				continue
			}
			rtt := "–"
			if row.rtt.N > 0 {
				rtt = fmt.Sprintf("%.0f", row.rtt.Avg)
			}
			fmt.Fprintf(&b, "  %+7.0fs %6.2f %7s %7.1f %7.1f %9.1f %9.0f %9.0f\n",
				row.at.Seconds(), row.mos.Avg, rtt, row.loss.Avg, row.rloss.Avg, row.jitter.Avg, row.send.Avg, row.recv.Avg)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pickInterval returns a round interval giving at most 30 rows for d.
func pickInterval(d time.Duration) time.Duration {
	for _, iv := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute} {
		if d/iv < 30 {
			return iv
		}
	}
	return 10 * time.Minute
}

type bucket struct {
	at                                        time.Duration
	mos, rtt, loss, rloss, jitter, send, recv Range
}

// buckets groups the samples into one row per interval from the first
// sample to the last. Samples come about once a second, a little early or
// late: each is first put on its nearest second (cutting at the second
// would put two in one row and none in the next), then in its interval. A
// row no sample falls into stays, empty, so a gap in the samples shows.
func buckets(samples []TimedSample, start time.Time, iv time.Duration) []bucket {
	var out []bucket
	unit := min(iv, time.Second)
	for _, s := range samples {
		at := (s.Time.Sub(start) + unit/2) / unit * unit / iv * iv
		for len(out) == 0 || out[len(out)-1].at < at {
			next := time.Duration(0)
			if len(out) > 0 {
				next = out[len(out)-1].at + iv
			}
			out = append(out, bucket{at: next})
		}
		b := &out[len(out)-1]
		b.mos.add(s.Mos)
		if s.RttMs > 0 {
			b.rtt.add(s.RttMs)
		}
		b.loss.add(s.LossPct)
		b.rloss.add(s.RemoteLossPct)
		b.jitter.add(s.JitterMs)
		b.send.add(s.SendKbps)
		b.recv.add(s.RecvKbps)
	}
	return out
}

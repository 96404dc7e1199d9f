package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server"
	"github.com/softphone/softphone/server/bots"
)

// Config is the whole configuration: every field of NeCallKit's rtcConfig
// (same names, so a seed user recognises them), the softphone additions and
// the `serve:` section. The yaml tags are also the names used in error
// messages and, upper-snake-cased, in SOFTPHONE_* environment variables.
type Config struct {
	AppKey         string `yaml:"appKey"`
	UID            string `yaml:"uid"`
	IMToken        string `yaml:"imToken"`
	Account        string `yaml:"account"`
	NickName       string `yaml:"nickName"`
	Passport       string `yaml:"passport"`
	OpenCamera     bool   `yaml:"openCamera"`
	OpenMicrophone bool   `yaml:"openMicrophone"`
	Resolution     string `yaml:"resolution"`
	AudioQuality   string `yaml:"audioQuality"`
	VideoWidth     int    `yaml:"videoWidth"`
	VideoHeight    int    `yaml:"videoHeight"`
	MinBitrate     int    `yaml:"minBitrate"`
	MaxBitrate     int    `yaml:"maxBitrate"`
	WhitenessLevel int    `yaml:"whitenessLevel"`
	BeautyLevel    int    `yaml:"beautyLevel"`
	CheckSum       bool   `yaml:"checkSum"`
	Debug          bool   `yaml:"debug"`
	Server         string `yaml:"server"`
	// CAFile is a PEM file of CA certificates the clients trust for a
	// wss:// / https:// server besides the system's (a self-signed CA).
	CAFile      string        `yaml:"caFile"`
	CallTimeout time.Duration `yaml:"callTimeout"`
	Language    string        `yaml:"language"`
	// Cameras is the comma-separated list SwitchCamera goes round (in a
	// file also a YAML list); empty: the camera, then any other found.
	Cameras string      `yaml:"cameras"`
	Serve   ServeConfig `yaml:"serve"`

	// origin records where each explicitly set key came from ("config.yaml:7",
	// "SOFTPHONE_LANGUAGE", "flag --server"), so a validation error can say
	// which input to fix.
	origin map[string]string
	// device is the device id engines log in with (not a config key); empty
	// lets the engine pick a random one. Scenario runs name their devices.
	device string
	// trace is the --trace file of this run (not a config key), shared by
	// every engine connect creates from this config or a copy (trace.go).
	trace *traceSink
}

// ServeConfig is the `serve:` section: how `softphone serve` runs.
type ServeConfig struct {
	Listen    string `yaml:"listen"`
	Data      string `yaml:"data"`
	AppKey    string `yaml:"appKey"`
	AppSecret string `yaml:"appSecret"`
	NATS      string `yaml:"nats"`
	Debug     bool   `yaml:"debug"`
	// TURN is the UDP host:port of the embedded TURN relay; "" or "off"
	// runs none. TURNIP is the relay's address as clients reach it
	// (default: the TURN host; required when that is 0.0.0.0 or ::).
	TURN   string `yaml:"turn"`
	TURNIP string `yaml:"turnIp"`
	// TURNTCP and TURNTLS add TURN over TCP and over TLS (turns:, e.g. on
	// port 443) to the relay, for networks that block UDP; TURNHost is the
	// host in turns: URLs (the certificate must cover it; default the
	// relay's IP). TLS uses TLSCert and TLSKey (PEM files).
	TURNTCP  string `yaml:"turnTcp"`
	TURNTLS  string `yaml:"turnTls"`
	TURNHost string `yaml:"turnHost"`
	TLSCert  string `yaml:"tlsCert"`
	TLSKey   string `yaml:"tlsKey"`
	// Bots runs the built-in bot accounts (echo, reject, busy, noanswer,
	// hangup, outcomes; see server/bots). BotNames limits them to a
	// comma-separated list; EchoDelay is how late echo plays media back.
	Bots      bool          `yaml:"bots"`
	BotNames  string        `yaml:"botNames"`
	EchoDelay time.Duration `yaml:"echoDelay"`
	// Replicas is the JetStream replica count of every bucket and stream on
	// a NATS cluster (0: 3 with nats, 1 embedded); StartTimeout bounds how
	// long serve waits for a slow cluster at start-up.
	Replicas     int           `yaml:"replicas"`
	StartTimeout time.Duration `yaml:"startTimeout"`
}

// Defaults for values the seed documents (NeCallKit-MiniApp.md config table)
// and for the softphone additions.
const (
	defaultServer = "ws://127.0.0.1:7800"
	defaultListen = "127.0.0.1:7800"
	defaultTURN   = "127.0.0.1:3478" // server.DefaultTURNListen
	maxLevel      = 9                // whitenessLevel / beautyLevel range 0–9, as live-pusher
	maxVideoSide  = 4096
	maxBitrate    = 100_000 // kbps; anything above is a typo
)

// resolutions and audioQualities are the values the seed's config accepts.
var (
	resolutions    = []string{"LD", "SD", "HD", "FHD"}
	audioQualities = []string{"high", "low"}
	languages      = []string{"zh", "en"}
)

func defaultConfig(getenv func(string) string) *Config {
	return &Config{
		OpenCamera:     true,
		OpenMicrophone: true,
		Resolution:     "HD",
		AudioQuality:   "high",
		VideoWidth:     360,
		VideoHeight:    640,
		MinBitrate:     600,
		MaxBitrate:     900,
		CheckSum:       true,
		Server:         defaultServer,
		CallTimeout:    protocol.DefaultCallTimeout,
		Language:       "zh",
		Serve: ServeConfig{
			Listen:    defaultListen,
			Data:      defaultDataDir(getenv),
			TURN:      defaultTURN,
			EchoDelay: bots.DefaultEchoDelay,

			StartTimeout: server.DefaultStartTimeout,
		},
		origin: map[string]string{},
	}
}

// defaultDataDir is where a local `serve` keeps its embedded JetStream store
// and credentials.json, and where `user` looks for those credentials.
func defaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "softphone")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "softphone")
	}
	return ".data"
}

// override is one value set on the command line, applied after the file and
// the environment.
type override struct {
	key, value, source string
}

// loadConfig builds the configuration: defaults, then the file, then SOFTPHONE_*
// variables, then flags; and validates the result. path is --config ("" =
// ./config.yaml if present, else $XDG_CONFIG_HOME/softphone/config.yaml if
// present, else no file).
func loadConfig(path string, getenv func(string) string, flags []override) (*Config, error) {
	cfg := defaultConfig(getenv)
	file, required := path, path != ""
	if !required {
		file = defaultConfigFile(getenv)
	}
	if file != "" {
		data, err := os.ReadFile(file)
		switch {
		case err == nil:
			if err := cfg.decodeYAML(file, data); err != nil {
				return nil, err
			}
		case required || !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("read config: %w", err)
		}
	}
	if err := cfg.applyEnv(getenv); err != nil {
		return nil, err
	}
	for _, o := range flags {
		if err := cfg.set(o.key, o.value, o.source); err != nil {
			return nil, err
		}
	}
	// An empty string for these means "the default", as the sample documents.
	def := defaultConfig(getenv)
	for _, p := range []struct {
		v *string
		d string
	}{
		{&cfg.Server, def.Server}, {&cfg.Serve.Listen, def.Serve.Listen}, {&cfg.Serve.Data, def.Serve.Data},
	} {
		if *p.v == "" {
			*p.v = p.d
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func defaultConfigFile(getenv func(string) string) string {
	if _, err := os.Stat("config.yaml"); err == nil {
		return "config.yaml"
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		h := getenv("HOME")
		if h == "" {
			return ""
		}
		dir = filepath.Join(h, ".config")
	}
	return filepath.Join(dir, "softphone", "config.yaml")
}

// ---- the key table ----

// field is one configurable leaf: its dotted key ("serve.listen") and where
// it lives in a Config.
type field struct {
	key   string
	index []int
	typ   reflect.Type
}

var durationType = reflect.TypeFor[time.Duration]()

// configFields lists every leaf of Config in declaration order. It is derived
// from the struct tags, so adding a field to Config is the only change needed
// for the file, the environment and the error messages to know it.
func configFields() []field {
	var out []field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("yaml")
			if tag == "" {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			if sf.Type.Kind() == reflect.Struct && sf.Type != durationType {
				walk(sf.Type, prefix+tag+".", idx)
				continue
			}
			out = append(out, field{key: prefix + tag, index: idx, typ: sf.Type})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}

func lookupField(key string) (field, bool) {
	for _, f := range configFields() {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// envName maps a key to its variable: "serve.appSecret" → SOFTPHONE_SERVE_APP_SECRET.
func envName(key string) string {
	var b strings.Builder
	b.WriteString("SOFTPHONE_")
	for i, r := range key {
		switch {
		case r == '.':
			b.WriteByte('_')
		case unicode.IsUpper(r) && i > 0 && key[i-1] != '.':
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// envAliases are short names for the variables scripts set most often.
var envAliases = map[string]string{"SOFTPHONE_TOKEN": "imToken"}

// set parses raw for key and stores it. Parsing is the same for the file,
// the environment and flags, so "30s" or "true" means one thing everywhere.
func (c *Config) set(key, raw, source string) error {
	f, ok := lookupField(key)
	if !ok {
		return fmt.Errorf("%s: unknown config key %q", source, key)
	}
	v := reflect.ValueOf(c).Elem().FieldByIndex(f.index)
	if err := parseInto(v, raw); err != nil {
		return fmt.Errorf("%s: %s: %w", source, key, err)
	}
	c.origin[key] = source
	return nil
}

func parseInto(v reflect.Value, raw string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want a duration such as 30s, got %q", raw)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want an integer, got %q", raw)
		}
		v.SetInt(int64(n))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// decodeYAML applies a config file. It walks the node tree itself rather than
// decoding into the struct so that an unknown key and a bad value are both
// reported with the key's name and line.
func (c *Config) decodeYAML(file string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	return c.decodeMapping(file, doc.Content[0], "")
}

func (c *Config) decodeMapping(file string, n *yaml.Node, prefix string) error {
	if n.Kind != yaml.MappingNode {
		what := "the file"
		if prefix != "" {
			what = strings.TrimSuffix(prefix, ".")
		}
		return fmt.Errorf("%s:%d: %s: want a mapping of keys", file, n.Line, what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		if seen[key] {
			return fmt.Errorf("%s:%d: key %q appears twice", file, k.Line, key)
		}
		seen[key] = true
		if key == "serve" {
			if v.Tag == "!!null" {
				continue
			}
			if err := c.decodeMapping(file, v, "serve."); err != nil {
				return err
			}
			continue
		}
		if _, ok := lookupField(key); !ok {
			return fmt.Errorf("%s:%d: unknown config key %q", file, k.Line, key)
		}
		if v.Kind == yaml.SequenceNode && listKeys[key] {
			raw, err := joinList(file, key, v)
			if err != nil {
				return err
			}
			if err := c.set(key, raw, fmt.Sprintf("%s:%d", file, v.Line)); err != nil {
				return err
			}
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s:%d: %s: want a single value", file, v.Line, key)
		}
		if v.Tag == "!!null" {
			continue // "key:" with no value keeps the default
		}
		if err := c.set(key, v.Value, fmt.Sprintf("%s:%d", file, v.Line)); err != nil {
			return err
		}
	}
	return nil
}

// listKeys are the comma-separated keys a file may also give as a YAML list.
var listKeys = map[string]bool{"cameras": true}

// joinList turns a YAML list of scalars into the key's comma-separated form.
func joinList(file, key string, n *yaml.Node) (string, error) {
	items := make([]string, 0, len(n.Content))
	for _, it := range n.Content {
		if it.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("%s:%d: %s: want a list of single values", file, it.Line, key)
		}
		if strings.Contains(it.Value, ",") {
			return "", fmt.Errorf("%s:%d: %s: %q: an entry cannot contain a comma", file, it.Line, key, it.Value)
		}
		items = append(items, it.Value)
	}
	return strings.Join(items, ","), nil
}

// splitList splits a comma-separated key into its trimmed, non-empty
// entries.
func splitList(list string) []string {
	var out []string
	for n := range strings.SplitSeq(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func (c *Config) applyEnv(getenv func(string) string) error {
	for _, f := range configFields() {
		name := envName(f.key)
		if raw := getenv(name); raw != "" {
			if err := c.set(f.key, raw, name); err != nil {
				return err
			}
		}
	}
	for name, key := range envAliases {
		if raw := getenv(name); raw != "" {
			if err := c.set(key, raw, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks every value against its allowed range; the error names the
// key and where its value came from.
func (c *Config) validate() error {
	bad := func(key, format string, args ...any) error {
		src := c.origin[key]
		if src == "" {
			src = "default"
		}
		return fmt.Errorf("config %s (from %s): %s", key, src, fmt.Sprintf(format, args...))
	}
	oneOf := func(key, v string, allowed []string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	inRange := func(key string, v, lo, hi int) error {
		if v < lo || v > hi {
			return bad(key, "%d is out of range %d–%d", v, lo, hi)
		}
		return nil
	}
	errs := []error{
		oneOf("resolution", c.Resolution, resolutions),
		oneOf("audioQuality", c.AudioQuality, audioQualities),
		oneOf("language", c.Language, languages),
		inRange("videoWidth", c.VideoWidth, 1, maxVideoSide),
		inRange("videoHeight", c.VideoHeight, 1, maxVideoSide),
		inRange("minBitrate", c.MinBitrate, 1, maxBitrate),
		inRange("maxBitrate", c.MaxBitrate, 1, maxBitrate),
		inRange("whitenessLevel", c.WhitenessLevel, 0, maxLevel),
		inRange("beautyLevel", c.BeautyLevel, 0, maxLevel),
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if c.MinBitrate > c.MaxBitrate {
		return bad("minBitrate", "%d is above maxBitrate %d", c.MinBitrate, c.MaxBitrate)
	}
	if c.CallTimeout < protocol.MinCallTimeout || c.CallTimeout > protocol.MaxCallTimeout {
		return bad("callTimeout", "%s is outside %s–%s", c.CallTimeout, protocol.MinCallTimeout, protocol.MaxCallTimeout)
	}
	if c.Account != "" && !protocol.ValidID(c.Account) {
		return bad("account", "%q is not a valid account (letters, digits, _ and -, at most %d)", c.Account, protocol.MaxIDLength)
	}
	if err := checkURL(c.Server, "ws", "wss", "http", "https"); err != nil {
		return bad("server", "%v", err)
	}
	if strings.Contains(c.Server, "@") && strings.Contains(c.Server, "ws") {
		// A WebSocket dial refuses user info anyway; saying so here keeps a
		// password out of every later message that names the server.
		for part := range strings.SplitSeq(c.Server, ",") {
			if u, err := url.Parse(strings.TrimSpace(part)); err == nil && u.User != nil && (u.Scheme == "ws" || u.Scheme == "wss") {
				return bad("server", "%q: a user or password in a ws:// or wss:// URL is not supported; the account logs in with its token",
					server.RedactURLs(part))
			}
		}
	}
	if _, err := c.clientTLS(); err != nil {
		return bad("caFile", "%v", err)
	}
	if _, _, err := net.SplitHostPort(c.Serve.Listen); err != nil {
		return bad("serve.listen", "%q is not host:port", c.Serve.Listen)
	}
	if err := checkTURN(c.Serve.TURN, c.Serve.TURNIP, bad); err != nil {
		return err
	}
	if c.Serve.NATS != "" {
		if err := checkURL(c.Serve.NATS, "nats", "tls", "ws", "wss"); err != nil {
			return bad("serve.nats", "%v", err)
		}
	}
	if c.Serve.Replicas < 0 || c.Serve.Replicas > 5 {
		return bad("serve.replicas", "%d: want 1–5 (0 = 3 with serve.nats, 1 embedded)", c.Serve.Replicas)
	}
	if c.Serve.Replicas > 1 && c.Serve.NATS == "" {
		return bad("serve.replicas", "%d needs serve.nats: the embedded server keeps one copy", c.Serve.Replicas)
	}
	if c.Serve.StartTimeout < 0 {
		return bad("serve.startTimeout", "%v: must not be negative", c.Serve.StartTimeout)
	}
	if (c.Serve.AppKey == "") != (c.Serve.AppSecret == "") {
		return bad("serve.appSecret", "serve.appKey and serve.appSecret must be set together")
	}
	if err := checkBots(c.Serve, bad); err != nil {
		return err
	}
	if err := call.CheckCameras(splitList(c.Cameras)); err != nil {
		return bad("cameras", "%v", err)
	}
	return nil
}

// checkTURN validates serve.turn ("" / "off", or IP:port) and serve.turnIp.
func checkTURN(listen, ip string, bad func(key, format string, args ...any) error) error {
	if listen == "" || strings.EqualFold(listen, "off") {
		return nil
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || net.ParseIP(host) == nil {
		return bad("serve.turn", "%q is not IP:port (or off)", listen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return bad("serve.turn", "%q: bad port", listen)
	}
	if ip != "" {
		if p := net.ParseIP(ip); p == nil || p.IsUnspecified() {
			return bad("serve.turnIp", "%q is not a usable IP address", ip)
		}
	} else if net.ParseIP(host).IsUnspecified() {
		return bad("serve.turnIp", "serve.turn %s listens on every address: set the IP clients reach the relay at", listen)
	}
	return nil
}

// checkURL accepts a URL with one of the schemes and a host. NATS URLs may be
// a comma-separated list of servers.
func checkURL(raw string, schemes ...string) error {
	for part := range strings.SplitSeq(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Host == "" {
			return fmt.Errorf("%q is not a URL like %s://host:port", server.RedactURLs(raw), schemes[0])
		}
		ok := false
		for _, s := range schemes {
			ok = ok || u.Scheme == s
		}
		if !ok {
			return fmt.Errorf("%q: scheme must be one of %s", server.RedactURLs(raw), strings.Join(schemes, ", "))
		}
	}
	return nil
}

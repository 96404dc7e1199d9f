package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// envMap is a fake environment for loadConfig.
func envMap(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigValues(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []override
		check func(t *testing.T, c *Config)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c *Config) {
				if c.Server != defaultServer || c.CallTimeout != 30*time.Second || c.Language != "zh" ||
					!c.CheckSum || !c.OpenCamera || c.VideoWidth != 360 || c.Resolution != "HD" {
					t.Errorf("unexpected defaults: %+v", c)
				}
				if want := filepath.Join(home, ".local", "share", "softphone"); c.Serve.Data != want {
					t.Errorf("serve.data = %q, want %q", c.Serve.Data, want)
				}
			},
		},
		{
			name: "file values",
			file: "account: alice\nimToken: t0k\nuid: 1\ncallTimeout: 45s\nbeautyLevel: 9\nserve:\n  listen: 0.0.0.0:9000\n  debug: true\n",
			check: func(t *testing.T, c *Config) {
				if c.Account != "alice" || c.IMToken != "t0k" || c.UID != "1" || c.CallTimeout != 45*time.Second ||
					c.BeautyLevel != 9 || c.Serve.Listen != "0.0.0.0:9000" || !c.Serve.Debug {
					t.Errorf("file not applied: %+v", c)
				}
			},
		},
		{
			name: "env overrides file",
			file: "language: en\naccount: alice\n",
			env:  []string{"SOFTPHONE_LANGUAGE", "zh", "SOFTPHONE_TOKEN", "secret", "SOFTPHONE_SERVE_LISTEN", "127.0.0.1:0", "SOFTPHONE_CALL_TIMEOUT", "5s"},
			check: func(t *testing.T, c *Config) {
				if c.Language != "zh" || c.IMToken != "secret" || c.Serve.Listen != "127.0.0.1:0" || c.CallTimeout != 5*time.Second {
					t.Errorf("env not applied: %+v", c)
				}
				if c.Account != "alice" {
					t.Errorf("file value lost: account %q", c.Account)
				}
			},
		},
		{
			name:  "flags override env",
			env:   []string{"SOFTPHONE_SERVER", "ws://env:1", "SOFTPHONE_IM_TOKEN", "fromenv"},
			flags: []override{{"server", "ws://flag:2", "flag --server"}, {"checkSum", "false", "flag --checksum"}},
			check: func(t *testing.T, c *Config) {
				if c.Server != "ws://flag:2" || c.CheckSum || c.IMToken != "fromenv" {
					t.Errorf("flags not applied: %+v", c)
				}
			},
		},
		{
			name: "empty means default",
			file: "server: \"\"\nserve:\n  data: \"\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Server != defaultServer || c.Serve.Data == "" {
					t.Errorf("empty values did not fall back to defaults: %+v", c)
				}
			},
		},
		{
			name: "cameras as a YAML list and from the environment",
			file: "cameras: [testsrc, /dev/video2]\n",
			check: func(t *testing.T, c *Config) {
				if c.Cameras != "testsrc,/dev/video2" {
					t.Errorf("cameras = %q", c.Cameras)
				}
			},
		},
		{
			name: "cameras from the environment",
			env:  []string{"SOFTPHONE_CAMERAS", "testsrc, default"},
			check: func(t *testing.T, c *Config) {
				if got := splitList(c.Cameras); !reflect.DeepEqual(got, []string{"testsrc", "default"}) {
					t.Errorf("cameras = %q", got)
				}
			},
		},
		{
			name: "empty file",
			file: "# nothing\n",
			check: func(t *testing.T, c *Config) {
				if c.Language != "zh" {
					t.Errorf("language %q", c.Language)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			cfg, err := loadConfig(path, envMap(append([]string{"HOME", home}, tt.env...)...), tt.flags)
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []override
		want  []string // substrings of the error
	}{
		{name: "unknown key", file: "account: a\nfoo: 1\n", want: []string{`unknown config key "foo"`, ":2"}},
		{name: "unknown serve key", file: "serve:\n  listen: 127.0.0.1:1\n  port: 1\n", want: []string{`"serve.port"`, ":3"}},
		{name: "beautyLevel out of range", file: "beautyLevel: 12\n", want: []string{"beautyLevel", "12", "0–9", ":1"}},
		{name: "whitenessLevel negative", file: "whitenessLevel: -1\n", want: []string{"whitenessLevel"}},
		{name: "language", file: "language: fr\n", want: []string{"language", `"fr"`}},
		{name: "videoWidth negative", file: "videoWidth: -1\n", want: []string{"videoWidth", "-1"}},
		{name: "videoHeight not a number", file: "videoHeight: tall\n", want: []string{"videoHeight", "integer"}},
		{name: "resolution", file: "resolution: 8K\n", want: []string{"resolution", `"8K"`}},
		{name: "audioQuality", file: "audioQuality: medium\n", want: []string{"audioQuality", `"medium"`}},
		{name: "bad duration", file: "callTimeout: soon\n", want: []string{"callTimeout", "duration"}},
		{name: "duration out of range", file: "callTimeout: 200s\n", want: []string{"callTimeout", "2m0s"}},
		{name: "bool", file: "checkSum: maybe\n", want: []string{"checkSum", "true or false"}},
		{name: "bitrates crossed", file: "minBitrate: 1000\nmaxBitrate: 900\n", want: []string{"minBitrate", "maxBitrate"}},
		{name: "server scheme", file: "server: ftp://x:1\n", want: []string{"server", "scheme"}},
		{name: "server with a password", file: "server: ws://u:S3CRET@x:1\n", want: []string{"server", "not supported", "u:xxxxx@"}},
		{name: "server with a token as user", file: "server: ws://a:1,wss://S3CRET@x:1\n", want: []string{"server", "not supported", "xxxxx@"}},
		{name: "nats URL with a password", file: "serve:\n  nats: nats://u:S3CRET@\n", want: []string{"serve.nats", "u:xxxxx@"}},
		{name: "caFile missing", flags: []override{{"caFile", "nosuch.pem", "flag --ca-file"}}, want: []string{"config caFile (from flag --ca-file)", "nosuch.pem"}},
		{name: "caFile not PEM", file: "caFile: /dev/null\n", want: []string{"caFile", "no PEM certificate"}},
		{name: "account", file: "account: a.b\n", want: []string{"account", `"a.b"`}},
		{name: "listen", file: "serve:\n  listen: nowhere\n", want: []string{"serve.listen"}},
		{name: "serve not a mapping", file: "serve: yes\n", want: []string{"serve", "mapping"}},
		{name: "list value", file: "account: [a, b]\n", want: []string{"account", "single value"}},
		{name: "duplicate key", file: "account: a\naccount: b\n", want: []string{"account"}},
		{name: "half a key pair", file: "serve:\n  appKey: k\n", want: []string{"serve.appSecret"}},
		{name: "turn not IP:port", file: "serve:\n  turn: localhost:3478\n", want: []string{"serve.turn", "IP:port"}},
		{name: "turn on every address", env: []string{"SOFTPHONE_SERVE_TURN", "0.0.0.0:3478"}, want: []string{"serve.turnIp"}},
		{name: "turn IP", flags: []override{{"serve.turnIp", "nowhere", "flag --turn-ip"}}, want: []string{"serve.turnIp", "flag --turn-ip"}},
		{name: "not yaml", file: "account: [\n", want: []string{"config.yaml"}},
		{name: "bad env value", env: []string{"SOFTPHONE_BEAUTY_LEVEL", "x"}, want: []string{"SOFTPHONE_BEAUTY_LEVEL", "beautyLevel"}},
		{name: "env out of range", env: []string{"SOFTPHONE_LANGUAGE", "fr"}, want: []string{"language", "SOFTPHONE_LANGUAGE"}},
		{name: "cameras none", file: "cameras: testsrc,none\n", want: []string{"config cameras (from", "config.yaml:1", `entry 2 is "none"`}},
		{name: "cameras missing clip", file: "cameras:\n  - testsrc\n  - /nonexistent/a.y4m\n", want: []string{"config cameras", `entry 2 "/nonexistent/a.y4m": no such file`}},
		{name: "cameras comma in a list entry", file: "cameras: [\"a,b\"]\n", want: []string{"cameras", "comma"}},
		{name: "cameras repeated", env: []string{"SOFTPHONE_CAMERAS", "testsrc,testsrc"}, want: []string{"cameras", "SOFTPHONE_CAMERAS", "repeats entry 1"}},
		{name: "bad flag value", flags: []override{{"callTimeout", "1ms", "flag --timeout"}}, want: []string{"callTimeout", "flag --timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := loadConfig(path, envMap(append([]string{"HOME", t.TempDir()}, tt.env...)...), tt.flags)
			if err == nil {
				t.Fatal("loadConfig succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

func TestLoadConfigMissingExplicitFile(t *testing.T) {
	_, err := loadConfig(filepath.Join(t.TempDir(), "nope.yaml"), envMap(), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v, want one naming the missing file", err)
	}
}

// TestSampleConfig keeps config.yaml honest: it loads, changes no default,
// and documents every key.
func TestSampleConfig(t *testing.T) {
	const sample = "../../config.yaml"
	getenv := envMap("HOME", "/home/x")
	cfg, err := loadConfig(sample, getenv, nil)
	if err != nil {
		t.Fatalf("sample config does not load: %v", err)
	}
	def := defaultConfig(getenv)
	cfg.origin, def.origin = nil, nil
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("sample config differs from the defaults:\n got %+v\nwant %+v", cfg, def)
	}
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range configFields() {
		m, key := doc, f.key
		if rest, ok := strings.CutPrefix(f.key, "serve."); ok {
			m, _ = doc["serve"].(map[string]any)
			key = rest
		}
		if _, ok := m[key]; !ok {
			t.Errorf("config.yaml does not document %s", f.key)
		}
	}
}

func TestEnvName(t *testing.T) {
	tests := map[string]string{
		"server":          "SOFTPHONE_SERVER",
		"imToken":         "SOFTPHONE_IM_TOKEN",
		"uid":             "SOFTPHONE_UID",
		"callTimeout":     "SOFTPHONE_CALL_TIMEOUT",
		"serve.listen":    "SOFTPHONE_SERVE_LISTEN",
		"serve.appSecret": "SOFTPHONE_SERVE_APP_SECRET",
		"serve.turnIp":    "SOFTPHONE_SERVE_TURN_IP",
		"serve.nats":      "SOFTPHONE_SERVE_NATS",
		"caFile":          "SOFTPHONE_CA_FILE",
	}
	for key, want := range tests {
		if got := envName(key); got != want {
			t.Errorf("envName(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestParseArgsInterspersed: flags may follow positional arguments (GNU
// style), "--" ends the flags, and only the config flags given become
// overrides.
func TestParseArgsInterspersed(t *testing.T) {
	cmd := &cobra.Command{Use: "call", RunE: func(*cobra.Command, []string) error { return nil }}
	cmd.SetOut(io.Discard)
	cf := newCommandFlags(cmd.Flags())
	cf.identity()
	typ := cmd.Flags().String("type", "audio", "")
	var pos []string
	cmd.RunE = func(_ *cobra.Command, args []string) error { pos = args; return nil }
	cmd.SetArgs([]string{"bob", "--type", "video", "--server", "ws://h:1", "--checksum=false", "--", "-x"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pos, []string{"bob", "-x"}) || *typ != "video" {
		t.Errorf("pos %q type %q", pos, *typ)
	}
	want := []override{{"server", "ws://h:1", "flag --server"}, {"checkSum", "false", "flag --checksum"}}
	if o := cf.overrides(); !reflect.DeepEqual(o, want) {
		t.Errorf("overrides %+v, want %+v", o, want)
	}
}

// TestCamerasFlag: --cameras is comma-separated and repeatable, checked as
// it is parsed, wins over the config key, and gives the first camera as the
// start when --video-in is not set.
func TestCamerasFlag(t *testing.T) {
	parse := func(args ...string) (*mediaFlags, error) {
		fs := pflag.NewFlagSet("call", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		m := addMediaFlags(fs)
		return m, fs.Parse(args)
	}
	m, err := parse("--cameras", "testsrc,/dev/video2", "--cameras", "default")
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig(envMap())
	cfg.Cameras = "/dev/video9"
	mc := m.config(cfg)
	if want := []string{"testsrc", "/dev/video2", "default"}; !reflect.DeepEqual(mc.Cameras, want) || mc.VideoIn != "testsrc" {
		t.Errorf("cameras %q, video-in %q; want %q starting on testsrc", mc.Cameras, mc.VideoIn, want)
	}

	m, _ = parse("--video-in", "default")
	if mc := m.config(cfg); !reflect.DeepEqual(mc.Cameras, []string{"/dev/video9"}) || mc.VideoIn != "default" {
		t.Errorf("from the config: cameras %q, video-in %q", mc.Cameras, mc.VideoIn)
	}
	cfg.OpenCamera = false
	if mc := m.config(cfg); mc.VideoIn != "default" {
		t.Errorf("--video-in lost: %q", mc.VideoIn)
	}
	m, _ = parse()
	if mc := m.config(cfg); mc.VideoIn != "none" {
		t.Errorf("openCamera false starts on %q, want none", mc.VideoIn)
	}

	if _, err := parse("--cameras", "testsrc", "--cameras", "testsrc"); err == nil || !strings.Contains(err.Error(), "cameras") || !strings.Contains(err.Error(), "repeats entry 1") {
		t.Errorf("repeated camera: %v", err)
	}
	if _, err := parse("--cameras", "testsrc,tone"); err == nil || !strings.Contains(err.Error(), `entry 2 "tone" is an audio source`) {
		t.Errorf("audio source as a camera: %v", err)
	}
}

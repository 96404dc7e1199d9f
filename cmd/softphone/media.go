package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/impair"
)

// mediaFlags are the headless media options of `call` and `answer`.
type mediaFlags struct {
	audioIn, audioOut, videoIn, record string
	relayOnly, noMedia                 bool
	impair                             impairFlag
	cameras                            camerasFlag
	trace                              string
}

// camerasFlag is --cameras: comma-separated and repeatable, each entry
// checked as it is parsed.
type camerasFlag struct{ list []string }

func (f *camerasFlag) String() string { return strings.Join(f.list, ",") }
func (f *camerasFlag) Type() string   { return "list" }

func (f *camerasFlag) Set(s string) error {
	list := append(slices.Clone(f.list), splitList(s)...)
	if err := call.CheckCameras(list); err != nil {
		return err
	}
	f.list = list
	return nil
}

// impairFlag is --impair: the spec is checked while the flags are parsed,
// so a typo is a usage error naming the bad key and value.
type impairFlag struct {
	spec string
	cfg  impair.Config
}

func (f *impairFlag) String() string { return f.spec }
func (f *impairFlag) Type() string   { return "spec" }

func (f *impairFlag) Set(s string) error {
	c, err := impair.Parse(s)
	if err != nil {
		return err
	}
	f.spec, f.cfg = s, c
	return nil
}

func addMediaFlags(fs *pflag.FlagSet) *mediaFlags {
	m := &mediaFlags{}
	fs.StringVar(&m.audioIn, "audio-in", "", "audio to send: `SRC` = FILE.wav, tone, silence, default, a device name, or none (default: default, none when openMicrophone is false)")
	fs.StringVar(&m.audioOut, "audio-out", call.SourceDefault, "where to play received audio: `SINK` = default, a device name, or none")
	fs.StringVar(&m.videoIn, "video-in", "", "video to send in video calls: `SRC` = testsrc, FILE.y4m, /dev/videoN, default, or none (default: default, none when openCamera is false)")
	fs.Var(&m.cameras, "cameras", "cameras the switch-camera key goes round: `LIST` of --video-in sources, comma-separated or repeated (default: the config's cameras, else --video-in and every other camera found); calls start on the first unless --video-in is given")
	fs.StringVar(&m.record, "record", "", "write local.wav, remote.wav, mix.wav and remote.ivf of the call into `DIR`")
	fs.BoolVar(&m.relayOnly, "relay-only", false, "send media only through the TURN relay the server hands out at login")
	fs.BoolVar(&m.noMedia, "no-media", false, "signaling only: no WebRTC session")
	fs.Var(&m.impair, "impair", "impair the media this client sends: `SPEC` = loss=5%,delay=80ms,jitter=20ms,rate=300kbps (each optional; also queue=D, seed=N)")
	fs.StringVar(&m.trace, "trace", "", "record signaling, events, ICE, stats, devices, versions and config (secrets redacted) as JSON lines in `FILE`; read it with softphone trace show|stats")
	completeWords(fs, "audio-in", call.SourceDefault, call.SourceTone, call.SourceSilence, call.SourceNone)
	completeWords(fs, "audio-out", call.SourceDefault, call.SourceNone)
	completeWords(fs, "video-in", call.SourceDefault, call.SourceTestsrc, call.SourceNone)
	_ = cobra.MarkFlagDirname(fs, "record")
	_ = cobra.MarkFlagFilename(fs, "trace")
	return m
}

// applyImpair makes mc's WebRTC sessions send through the --impair
// network (the signaling WebSocket is never impaired). For callers that
// build their own MediaConfig (scenario devices); config applies it itself.
func (m *mediaFlags) applyImpair(mc *call.MediaConfig) {
	if mc != nil && !m.impair.cfg.IsZero() {
		mc.Net = m.impair.cfg.Net(mc.Net)
	}
}

// config builds the engine's media configuration from the flags and the
// NeCallKit settings of the config file.
func (m *mediaFlags) config(cfg *Config) *call.MediaConfig {
	if m.trace != "" && (cfg.trace == nil || cfg.trace.path != m.trace) {
		cfg.trace = &traceSink{path: m.trace}
	}
	if m.noMedia {
		return nil
	}
	in, vin := m.audioIn, m.videoIn
	if in == "" {
		in = call.SourceDefault
		if !cfg.OpenMicrophone {
			in = call.SourceNone
		}
	}
	cams := m.cameras.list
	if len(cams) == 0 {
		cams = splitList(cfg.Cameras)
	}
	if vin == "" {
		switch {
		case !cfg.OpenCamera:
			vin = call.SourceNone
		case len(cams) > 0:
			vin = cams[0]
		default:
			vin = call.SourceDefault
		}
	}
	return &call.MediaConfig{
		AudioIn:        in,
		AudioOut:       m.audioOut,
		VideoIn:        vin,
		Cameras:        cams,
		VideoWidth:     cfg.VideoWidth,
		VideoHeight:    cfg.VideoHeight,
		Resolution:     cfg.Resolution,
		AudioQuality:   cfg.AudioQuality,
		MinBitrate:     cfg.MinBitrate,
		MaxBitrate:     cfg.MaxBitrate,
		WhitenessLevel: cfg.WhitenessLevel,
		BeautyLevel:    cfg.BeautyLevel,
		RecordDir:      m.record,
		RelayOnly:      m.relayOnly,
		Net:            m.impair.cfg.Net(nil),
	}
}

// describeStats is the human line of a STATS event.
func describeStats(s call.CallStats) string {
	// Remote loss is what the peer reports of our stream: where an impaired
	// sender shows (its own loss is of what it receives).
	out := fmt.Sprintf("mos %.2f · rtt %s · loss %.1f%% · remote loss %.1f%% · jitter %.1f ms · send %.0f kbps · recv %.0f kbps · playout %.0f ms",
		s.Mos, msText(s.RttMs), s.LossPct, s.RemoteLossPct, s.JitterMs, s.SendKbps, s.RecvKbps, s.PlayoutDelayMs)
	if s.Width > 0 {
		out += fmt.Sprintf(" · video %dx%d@%.0f", s.Width, s.Height, s.Fps)
	}
	if s.CandidateType == "relay" || s.RemoteCandidateType == "relay" {
		out += " · via TURN relay"
		if s.RelayProtocol != "" {
			out += " (" + s.RelayProtocol + ")"
		}
	}
	return out
}

func msText(v float64) string {
	if v <= 0 || math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f ms", v)
}

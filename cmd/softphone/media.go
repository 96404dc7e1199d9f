package main

import (
	"flag"
	"fmt"
	"math"

	"github.com/softphone/softphone/call"
)

// mediaFlags are the headless media options of `call` and `answer`.
type mediaFlags struct {
	audioIn, audioOut, videoIn, record string
	relayOnly, noMedia                 bool
}

func addMediaFlags(fs *flag.FlagSet) *mediaFlags {
	m := &mediaFlags{}
	fs.StringVar(&m.audioIn, "audio-in", "", "audio to send: `SRC` = FILE.wav, tone, silence, default, a device name, or none (default: default, none when openMicrophone is false)")
	fs.StringVar(&m.audioOut, "audio-out", call.SourceDefault, "where to play received audio: default, a device name, or none")
	fs.StringVar(&m.videoIn, "video-in", "", "video to send in video calls: `SRC` = testsrc, FILE.y4m, /dev/videoN, default, or none (default: default, none when openCamera is false)")
	fs.StringVar(&m.record, "record", "", "write local.wav, remote.wav, mix.wav and remote.ivf of the call into `DIR`")
	fs.BoolVar(&m.relayOnly, "relay-only", false, "send media only through the TURN relay the server hands out at login")
	fs.BoolVar(&m.noMedia, "no-media", false, "signaling only: no WebRTC session")
	return m
}

// config builds the engine's media configuration from the flags and the
// NeCallKit settings of the config file.
func (m *mediaFlags) config(cfg *Config) *call.MediaConfig {
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
	if vin == "" {
		vin = call.SourceDefault
		if !cfg.OpenCamera {
			vin = call.SourceNone
		}
	}
	return &call.MediaConfig{
		AudioIn:        in,
		AudioOut:       m.audioOut,
		VideoIn:        vin,
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
	}
}

// describeStats is the human line of a STATS event.
func describeStats(s call.CallStats) string {
	out := fmt.Sprintf("mos %.2f · rtt %s · loss %.1f%% · jitter %.1f ms · send %.0f kbps · recv %.0f kbps · playout %.0f ms",
		s.Mos, msText(s.RttMs), s.LossPct, s.JitterMs, s.SendKbps, s.RecvKbps, s.PlayoutDelayMs)
	if s.Width > 0 {
		out += fmt.Sprintf(" · video %dx%d@%.0f", s.Width, s.Height, s.Fps)
	}
	if s.CandidateType == "relay" || s.RemoteCandidateType == "relay" {
		out += " · via TURN relay"
	}
	return out
}

func msText(v float64) string {
	if v <= 0 || math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f ms", v)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/prop"
	pionturn "github.com/pion/turn/v5"
	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/pionslog"
	"github.com/softphone/softphone/internal/termsafe"
	"github.com/softphone/softphone/media/audiocmp"
	"github.com/softphone/softphone/media/audiosrc"
	"github.com/softphone/softphone/media/opus"
	"github.com/softphone/softphone/media/pa"
	"github.com/softphone/softphone/media/record"
	"github.com/softphone/softphone/media/videosrc"
	"github.com/softphone/softphone/media/vp8"
	"github.com/softphone/softphone/server/bots"
)

// Check results. Only fail makes doctor exit non-zero: warn is something
// that limits calls without breaking them (no TURN relay, no camera).
const (
	checkPass = "pass"
	checkWarn = "warn"
	checkFail = "fail"
	checkSkip = "skip"
)

// Doctor timing.
const (
	doctorStep      = 5 * time.Second        // bound of one network step
	doctorDevice    = 200 * time.Millisecond // audio captured / played per device
	burstLead       = 800 * time.Millisecond // silence before the echo burst (media connects)
	burstLen        = 500 * time.Millisecond
	burstTail       = 2700 * time.Millisecond
	echoMinCorr     = 0.5 // below: what came back is not what was sent
	echoDetectWin   = audiosrc.SampleRate / 4
	echoLoudSample  = 300
	doctorVideoSize = 160
)

// checkResult is one line of the doctor's table.
type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Ms     int64  `json:"ms"`
}

// doctorReport is the --json output.
type doctorReport struct {
	OK              bool          `json:"ok"`
	Checks          []checkResult `json:"checks"`
	EchoRoundTripMs int64         `json:"echoRoundTripMs,omitempty"`
}

// doctor runs the checks in order; later checks use what earlier ones
// established (the logged-in engine).
type doctor struct {
	c        *cli
	cfg      *Config
	audioIn  string
	audioOut string
	videoIn  string
	echo     string
	delay    time.Duration
	tmp      string

	eng      *call.Engine
	pa       *pa.System
	paErr    error
	roundTrp time.Duration
}

func newDoctorCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check config, server, login, TURN, devices, codecs and an echo call",
		Long: `Check, in order: the config, that the server answers, login, a TURN relay
allocation, the microphone, the speaker, the camera, the codecs, and an echo
call to the server's echo bot (serve --bots) that measures the audio round
trip. Prints a table (or --json); exits 1 when a check failed. WARN marks
something that limits calls without breaking them.`,
		Example: `  softphone doctor --account alice --token TOKEN
  softphone doctor --audio-in "USB Audio" --video-in none --json`,
		Args:    noArgs,
		GroupID: groupInfo,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	cf.identity()
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	d := &doctor{c: c}
	fs.StringVar(&d.audioIn, "audio-in", call.SourceDefault, "audio input to check: default, a device name, tone, silence, FILE.wav or none")
	fs.StringVar(&d.audioOut, "audio-out", call.SourceDefault, "audio output to check: default, a device name, or none")
	fs.StringVar(&d.videoIn, "video-in", call.SourceDefault, "camera to check: default, /dev/videoN, testsrc, FILE.y4m or none")
	fs.StringVar(&d.echo, "echo", bots.Echo, "`ACCOUNT` of the echo bot to call")
	fs.DurationVar(&d.delay, "echo-delay", bots.DefaultEchoDelay, "how long the echo bot holds media (serve.echoDelay), subtracted to show the path latency")
	completeWords(fs, "audio-in", call.SourceDefault, call.SourceTone, call.SourceSilence, call.SourceNone)
	completeWords(fs, "audio-out", call.SourceDefault, call.SourceNone)
	completeWords(fs, "video-in", call.SourceDefault, call.SourceTestsrc, call.SourceNone)
	cmd.RunE = c.action(func(ctx context.Context, _ []string) (int, error) { return d.run(ctx, cf, *asJSON) })
	return cmd
}

// run checks, in order: config, server reachable, login, TURN allocation,
// audio input, audio output, camera, codecs, and an echo call that
// measures the audio round trip. It prints a table (or --json) and exits 1
// when a check failed.
func (d *doctor) run(ctx context.Context, cf *commandFlags, asJSON bool) (int, error) {
	c := d.c
	var err error
	d.tmp, err = os.MkdirTemp("", "softphone-doctor-")
	if err != nil {
		return exitError, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(d.tmp)
	defer d.close()

	var results []checkResult
	// The table is printed a row at a time as each check finishes: the
	// network and echo checks take seconds.
	if !asJSON {
		writeDoctorRow(c.stdout, "CHECK", "RESULT", "DETAIL")
	}
	run := func(name string, f func() (string, string)) {
		start := time.Now()
		status, detail := f()
		r := checkResult{Name: name, Status: status, Detail: oneLine(detail), Ms: time.Since(start).Milliseconds()}
		results = append(results, r)
		if !asJSON {
			writeDoctorRow(c.stdout, r.Name, strings.ToUpper(r.Status), r.Detail)
		}
	}
	run("config", func() (string, string) {
		cfg, err := loadConfig(cf.configPath, c.getenv, cf.overrides())
		if err != nil {
			return checkFail, err.Error()
		}
		d.cfg = cfg
		return checkPass, d.configSource()
	})
	serverOK := false
	run("server", func() (string, string) {
		if d.cfg == nil {
			return checkSkip, "no valid config"
		}
		st, detail := d.checkServer(ctx)
		serverOK = st == checkPass
		return st, detail
	})
	run("login", func() (string, string) {
		if !serverOK {
			return checkSkip, "server not reachable"
		}
		return d.checkLogin(ctx)
	})
	run("turn", func() (string, string) {
		if d.eng == nil {
			return checkSkip, "not logged in"
		}
		return d.checkTURN(ctx)
	})
	run("audio-in", d.checkAudioIn)
	run("audio-out", d.checkAudioOut)
	run("camera", d.checkCamera)
	run("codecs", checkCodecs)
	run("echo", func() (string, string) {
		if d.eng == nil {
			return checkSkip, "not logged in"
		}
		return d.checkEcho(ctx)
	})

	ok := !slices.ContainsFunc(results, func(r checkResult) bool { return r.Status == checkFail })
	if asJSON {
		rep := doctorReport{OK: ok, Checks: results, EchoRoundTripMs: d.roundTrp.Milliseconds()}
		b, err := json.Marshal(rep)
		if err != nil {
			return exitError, fmt.Errorf("encode report: %w", err)
		}
		if err := writeJSONLine(c.stdout, b); err != nil {
			return exitError, err
		}
	}
	if !ok {
		return exitError, nil
	}
	return exitOK, nil
}

// writeDoctorRow writes one row of the table, columns as wide as the
// longest check name and result.
func writeDoctorRow(w io.Writer, name, result, detail string) {
	fmt.Fprintf(w, "%-11s%-8s%s\n", name, result, termsafe.String(detail))
}

func (d *doctor) close() {
	if d.eng != nil {
		_ = d.eng.Close()
	}
	if d.pa != nil {
		_ = d.pa.Close()
	}
}

// configSource names the file the config came from.
func (d *doctor) configSource() string {
	for _, src := range d.cfg.origin {
		if i := strings.LastIndexByte(src, ':'); i > 0 && !strings.HasPrefix(src, "flag ") && !strings.HasPrefix(src, "SOFTPHONE_") {
			return "valid (" + src[:i] + "; server " + d.cfg.Server + ")"
		}
	}
	return "valid (defaults, environment and flags; server " + d.cfg.Server + ")"
}

// checkServer asks the server's /healthz over HTTP.
func (d *doctor) checkServer(ctx context.Context) (string, string) {
	u, err := url.Parse(d.cfg.Server)
	if err != nil {
		return checkFail, fmt.Sprintf("server %q: %v", d.cfg.Server, err)
	}
	scheme := "http"
	if u.Scheme == "wss" || u.Scheme == "https" {
		scheme = "https"
	}
	health := scheme + "://" + u.Host + "/healthz"
	rctx, cancel := context.WithTimeout(ctx, doctorStep)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, health, nil)
	if err != nil {
		return checkFail, err.Error()
	}
	tlsCfg, err := d.cfg.clientTLS()
	if err != nil {
		return checkFail, fmt.Sprintf("caFile: %v", err)
	}
	start := time.Now()
	resp, err := d.cfg.httpClient(tlsCfg).Do(req)
	if err != nil {
		return checkFail, fmt.Sprintf("cannot reach %s: %v", d.cfg.Server, unwrapURLError(err))
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return checkFail, fmt.Sprintf("%s answered %s: is it a softphone server?", health, resp.Status)
	}
	return checkPass, fmt.Sprintf("%s answers (%d ms)", d.cfg.Server, time.Since(start).Milliseconds())
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// checkLogin logs in with media set up for the echo call: the burst of
// echoBurst as microphone, recording into the temporary directory.
func (d *doctor) checkLogin(ctx context.Context) (string, string) {
	wav := filepath.Join(d.tmp, "burst.wav")
	if err := writeBurst(wav); err != nil {
		return checkFail, err.Error()
	}
	media := &call.MediaConfig{
		AudioIn: wav, AudioOut: call.SourceNone, VideoIn: call.SourceNone,
		RecordDir: filepath.Join(d.tmp, "rec"), StatsInterval: -1,
	}
	lctx, cancel := context.WithTimeout(ctx, 2*doctorStep)
	defer cancel()
	eng, err := connect(lctx, &cli{stdout: io.Discard, stderr: io.Discard, getenv: d.c.getenv}, d.cfg, media)
	if err != nil {
		return checkFail, err.Error()
	}
	d.eng = eng
	s := eng.Session()
	return checkPass, fmt.Sprintf("logged in as %s (device %s, node %s)", d.cfg.Account, s.Device, s.Node)
}

// writeBurst writes the echo test's microphone: silence, a burst of the
// non-periodic test signal, silence.
func writeBurst(path string) error {
	n := func(d time.Duration) int { return int(d.Seconds() * audiosrc.SampleRate) }
	pcm := make([]int16, n(burstLead), n(burstLead+burstLen+burstTail))
	pcm = append(pcm, audiocmp.Signal(burstLen.Seconds(), 0.3)...)
	pcm = append(pcm, make([]int16, n(burstTail))...)
	if err := audiosrc.WriteWAVFile(path, audiosrc.SampleRate, pcm); err != nil {
		return fmt.Errorf("echo test signal: %w", err)
	}
	return nil
}

// checkTURN allocates a relay on the TURN server of the login reply.
func (d *doctor) checkTURN(ctx context.Context) (string, string) {
	var srv protocol.ICEServer
	var addr string
	for _, s := range d.eng.Session().ICEServers {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") && addr == "" {
				addr, srv = strings.SplitN(strings.TrimPrefix(u, "turn:"), "?", 2)[0], s
			}
		}
	}
	if addr == "" {
		return checkWarn, "the server offers no TURN relay: calls need a direct path between the devices"
	}
	// The socket's family is the allocation's (RFC 6156): match the relay's.
	network := "udp4"
	if host, _, err := net.SplitHostPort(addr); err == nil && strings.Contains(host, ":") {
		network = "udp6"
	}
	conn, err := net.ListenPacket(network, ":0")
	if err != nil {
		return checkFail, fmt.Sprintf("UDP socket: %v", err)
	}
	defer conn.Close()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Username: srv.Username, Password: srv.Credential,
		Conn: conn, LoggerFactory: pionslog.Factory{Log: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		return checkFail, fmt.Sprintf("TURN client for %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		return checkFail, fmt.Sprintf("TURN %s: %v", addr, err)
	}
	actx, cancel := context.WithTimeout(ctx, doctorStep)
	defer cancel()
	relay, err := c.AllocateWithContext(actx)
	if err != nil {
		return checkFail, fmt.Sprintf("TURN allocation on %s failed: %v", addr, err)
	}
	defer relay.Close()
	return checkPass, fmt.Sprintf("relay %s allocated on %s", relay.LocalAddr(), addr)
}

func (d *doctor) audioSystem() (*pa.System, error) {
	if d.pa == nil && d.paErr == nil {
		d.pa, d.paErr = pa.Open(pa.Options{})
	}
	return d.pa, d.paErr
}

// checkAudioIn opens the microphone and captures a moment of audio. Test
// sources (tone, silence, files) need no device.
func (d *doctor) checkAudioIn() (string, string) {
	if st, detail, ok := testSource(d.audioIn, "--audio-in"); ok {
		return st, detail
	}
	sys, err := d.audioSystem()
	if err != nil {
		return checkFail, fmt.Sprintf("PortAudio: %v", err)
	}
	dev, err := sys.FindInput(d.audioIn)
	if err != nil {
		return checkFail, fmt.Sprintf("audio input %q: %v (softphone devices lists them)", d.audioIn, err)
	}
	cp, err := sys.OpenCapture(dev, pa.CaptureConfig{})
	if err != nil {
		return checkFail, fmt.Sprintf("open %s: %v", dev.Name, err)
	}
	defer cp.Close()
	buf := make([]int16, int(doctorDevice.Seconds()*pa.SampleRate))
	ctx, cancel := context.WithTimeout(context.Background(), doctorStep)
	defer cancel()
	if _, err := cp.Read(ctx, buf); err != nil {
		return checkFail, fmt.Sprintf("capture from %s: %v", dev.Name, err)
	}
	if audiocmp.RMS(buf) == 0 {
		// Digital silence: a muted input, an unplugged microphone or the
		// wrong device. Calls would send nothing.
		return checkWarn, fmt.Sprintf("%s (%s): captured %d ms, level silent: it sends nothing (muted, or the wrong device?); "+
			"pick another with --audio-in NAME (softphone devices lists them)", dev.Name, dev.HostAPI, doctorDevice.Milliseconds())
	}
	return checkPass, fmt.Sprintf("%s (%s): captured %d ms, level %s", dev.Name, dev.HostAPI, doctorDevice.Milliseconds(), dbfs(audiocmp.RMS(buf)))
}

// checkAudioOut opens the speaker and plays a moment of silence.
func (d *doctor) checkAudioOut() (string, string) {
	if d.audioOut == call.SourceNone {
		return checkSkip, "--audio-out none"
	}
	sys, err := d.audioSystem()
	if err != nil {
		return checkFail, fmt.Sprintf("PortAudio: %v", err)
	}
	dev, err := sys.FindOutput(d.audioOut)
	if err != nil {
		return checkFail, fmt.Sprintf("audio output %q: %v (softphone devices lists them)", d.audioOut, err)
	}
	pb, err := sys.OpenPlayback(dev, pa.PlaybackConfig{Pull: func(out []int16) { clear(out) }})
	if err != nil {
		return checkFail, fmt.Sprintf("open %s: %v", dev.Name, err)
	}
	time.Sleep(doctorDevice)
	if err := pb.Close(); err != nil {
		return checkFail, fmt.Sprintf("play on %s: %v", dev.Name, err)
	}
	return checkPass, fmt.Sprintf("%s (%s): played %d ms", dev.Name, dev.HostAPI, doctorDevice.Milliseconds())
}

// testSource handles the inputs that are not devices.
func testSource(src, flag string) (string, string, bool) {
	switch {
	case src == call.SourceNone:
		return checkSkip, flag + " none", true
	case src == call.SourceTone || src == call.SourceSilence || src == call.SourceTestsrc:
		return checkPass, fmt.Sprintf("test source %q (no device checked)", src), true
	case strings.HasSuffix(strings.ToLower(src), ".wav") || strings.HasSuffix(strings.ToLower(src), ".y4m"):
		if _, err := os.Stat(src); err != nil {
			return checkFail, fmt.Sprintf("%s %s: %v", flag, src, err), true
		}
		return checkPass, fmt.Sprintf("file %s (no device checked)", src), true
	}
	return "", "", false
}

// checkCamera looks for the camera. No camera at all is a warning (audio
// calls need none; video calls then send no picture); a camera named with
// --video-in that is not there is a failure.
func (d *doctor) checkCamera() (string, string) {
	if st, detail, ok := testSource(d.videoIn, "--video-in"); ok {
		return st, detail
	}
	var labels []string
	for _, dev := range mediadevices.EnumerateDevices() {
		if dev.Kind == mediadevices.VideoInput {
			labels = append(labels, dev.Label)
		}
	}
	if d.videoIn == call.SourceDefault {
		if len(labels) == 0 {
			return checkWarn, "no camera found: video calls send no picture (--video-in testsrc sends a test pattern)"
		}
		return checkPass, strings.Join(labels, ", ")
	}
	for _, l := range labels {
		if strings.Contains(l, d.videoIn) {
			return checkPass, l
		}
	}
	return checkFail, fmt.Sprintf("camera %s not found (found: %d camera(s))", d.videoIn, len(labels))
}

// checkCodecs round-trips an Opus frame and a VP8 frame through the
// encoders and decoders calls use.
func checkCodecs() (string, string) {
	enc, err := opus.NewEncoder(audiosrc.SampleRate, 1, opus.EncoderOptions{Bitrate: 32000, FEC: true, LossPerc: 10, Complexity: -1})
	if err != nil {
		return checkFail, fmt.Sprintf("Opus encoder: %v", err)
	}
	defer enc.Close()
	dec, err := opus.NewDecoder(audiosrc.SampleRate, 1)
	if err != nil {
		return checkFail, fmt.Sprintf("Opus decoder: %v", err)
	}
	defer dec.Close()
	sig := audiocmp.Signal(0.2, 0)
	out := make([]int16, len(sig))
	pos, pktBytes := 0, 0
	for off := 0; off+pa.FrameSamples <= len(sig); off += pa.FrameSamples {
		pkt, err := enc.Encode(sig[off : off+pa.FrameSamples])
		if err != nil {
			return checkFail, fmt.Sprintf("Opus encode: %v", err)
		}
		pktBytes += len(pkt)
		n, err := dec.Decode(pkt, out[pos:])
		if err != nil {
			return checkFail, fmt.Sprintf("Opus decode: %v", err)
		}
		pos += n
	}
	if pos != len(sig) || audiocmp.RMS(out[len(out)/2:]) < audiocmp.RMS(sig)/4 {
		return checkFail, fmt.Sprintf("Opus round trip lost the audio (%d of %d samples, level %s)", pos, len(sig), dbfs(audiocmp.RMS(out)))
	}
	vp8Detail, err := vp8RoundTrip()
	if err != nil {
		return checkFail, err.Error()
	}
	return checkPass, fmt.Sprintf("Opus 200 ms → %d bytes → %d samples; %s", pktBytes, pos, vp8Detail)
}

func vp8RoundTrip() (string, error) {
	pat, err := videosrc.NewPattern(videosrc.PatternOptions{Width: doctorVideoSize, Height: doctorVideoSize * 9 / 16, Unpaced: true})
	if err != nil {
		return "", fmt.Errorf("test pattern: %w", err)
	}
	defer pat.Close()
	p := vp8.NewParams()
	rc, err := p.BuildVideoEncoder(pat, prop.Media{Video: prop.Video{Width: doctorVideoSize, Height: doctorVideoSize * 9 / 16, FrameRate: 30}})
	if err != nil {
		return "", fmt.Errorf("VP8 encoder: %w", err)
	}
	defer rc.Close()
	frame, release, err := rc.Read()
	if err != nil {
		return "", fmt.Errorf("VP8 encode: %w", err)
	}
	defer release()
	dec, err := vp8.NewDecoder()
	if err != nil {
		return "", fmt.Errorf("VP8 decoder: %w", err)
	}
	defer dec.Close()
	img, err := dec.Decode(frame)
	if err != nil {
		return "", fmt.Errorf("VP8 decode: %w", err)
	}
	b := img.Bounds()
	if b != image.Rect(0, 0, doctorVideoSize, doctorVideoSize*9/16) {
		return "", fmt.Errorf("VP8 round trip gave %v", b)
	}
	return fmt.Sprintf("VP8 %dx%d → %d bytes → decoded", b.Dx(), b.Dy(), len(frame)), nil
}

// checkEcho calls the echo bot with the burst as microphone and finds the
// burst in what came back: the round trip through the server's echo.
func (d *doctor) checkEcho(ctx context.Context) (string, string) {
	eng := d.eng
	cctx, cancel := context.WithTimeout(ctx, doctorStep)
	defer cancel()
	cr, err := eng.Call(cctx, d.echo, protocol.CallAudio, nil)
	if err != nil {
		if protocol.CodeOf(err) == protocol.CodeNotFound {
			return checkFail, fmt.Sprintf("no account %q: start the server with --bots (serve.bots: true)", d.echo)
		}
		return checkFail, fmt.Sprintf("call %s: %v", d.echo, err)
	}
	if st, detail, ok := d.waitAnswer(ctx, cr.ChannelID); !ok {
		return st, detail
	}
	time.Sleep(d.delay + burstLead + burstLen + burstTail/3)
	hctx, hcancel := context.WithTimeout(ctx, doctorStep)
	defer hcancel()
	if err := eng.Hangup(hctx); err != nil {
		return checkFail, fmt.Sprintf("hang up: %v", err)
	}
	_ = eng.Close() // completes the recording
	d.eng = nil
	rec := filepath.Join(d.tmp, "rec")
	local, err := loadRecording(filepath.Join(rec, record.LocalFile))
	if err != nil {
		return checkFail, err.Error()
	}
	remote, err := loadRecording(filepath.Join(rec, record.RemoteFile))
	if err != nil {
		return checkFail, err.Error()
	}
	start := slices.IndexFunc(remote, func(v int16) bool { return v > echoLoudSample || v < -echoLoudSample })
	if start < 0 || start+echoDetectWin > len(remote) {
		return checkFail, fmt.Sprintf("no audio came back from %s (is its media path blocked?)", d.echo)
	}
	lag, corr := audiocmp.NewAligner(local, echoDetectWin).Align(remote[start : start+echoDetectWin])
	if corr < echoMinCorr {
		return checkFail, fmt.Sprintf("the audio that came back does not match what was sent (correlation %.2f)", corr)
	}
	d.roundTrp = time.Duration(start-lag) * time.Second / audiosrc.SampleRate
	return checkPass, fmt.Sprintf("round trip %d ms (echo holds %d ms → path %d ms), correlation %.2f",
		d.roundTrp.Milliseconds(), d.delay.Milliseconds(), (d.roundTrp - d.delay).Milliseconds(), corr)
}

// waitAnswer waits for the echo bot to accept; anything else is the reason
// the check fails.
func (d *doctor) waitAnswer(ctx context.Context, channel string) (string, string, bool) {
	timeout := time.NewTimer(2 * doctorStep)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return checkFail, "interrupted", false
		case <-timeout.C:
			return checkFail, fmt.Sprintf("%s did not answer within %v: is the server running with --bots?", d.echo, 2*doctorStep), false
		case ev, ok := <-d.eng.Events():
			if !ok {
				return checkFail, "engine closed", false
			}
			p, _ := ev.Data.(protocol.Peer)
			if p.ChannelID != channel {
				continue
			}
			switch ev.Name {
			case protocol.EvUserAccept:
				return checkPass, "", true
			case protocol.EvUserBusy:
				return checkFail, fmt.Sprintf("%s is busy with another call; try again in a moment", d.echo), false
			case protocol.EvUserReject, protocol.EvCallingTimeout, protocol.EvCallEnd:
				return checkFail, fmt.Sprintf("%s did not answer (%s): is it the echo bot?", d.echo, ev.Name), false
			}
		}
	}
}

func loadRecording(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("echo recording: %w", err)
	}
	defer f.Close()
	pcm, _, err := audiosrc.LoadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("echo recording %s: %w", path, err)
	}
	return pcm, nil
}

// dbfs renders an int16 RMS level in dB full scale.
func dbfs(rms float64) string {
	if rms <= 0 {
		return "silent"
	}
	return fmt.Sprintf("%.0f dBFS", 20*math.Log10(rms/32768))
}

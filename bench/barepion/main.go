//go:build barepion

// Command barepion is the calibration benchmark of a bare pion/webrtc v4 +
// pion/mediadevices audio-only call, each peer in its own process: the
// anchor the engine's CPU and memory are compared with in
// docs/benchmarks.md. It sits behind a build tag so the normal build does
// not link mediadevices' own Opus encoder.
//
//	go build -tags barepion -o /tmp/barepion ./bench/barepion
//	/tmp/barepion drive [-dur 20s] [-decode] [-gomaxprocs N] [-perf offer|answer]
package main

/*
#cgo CFLAGS: -I/usr/include/opus
#include <opus.h>
*/
import "C"

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/wave"
	"github.com/pion/webrtc/v4"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: barepion drive|offer|answer [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "drive":
		drive(os.Args[2:])
	case "offer", "answer":
		peer(os.Args[1], os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "unknown role")
		os.Exit(2)
	}
}

// ---------------------------------------------------------------- tone source

// toneSource is a mediadevices AudioSource: 440 Hz, 48 kHz mono int16, 20 ms
// chunks paced in real time by a ticker.
type toneSource struct {
	once   sync.Once
	tick   *time.Ticker
	closed chan struct{}
	phase  float64
}

func newTone() *toneSource { return &toneSource{closed: make(chan struct{})} }

func (t *toneSource) ID() string { return "tone440" }
func (t *toneSource) Close() error {
	select {
	case <-t.closed:
	default:
		close(t.closed)
	}
	return nil
}

func (t *toneSource) Read() (wave.Audio, func(), error) {
	t.once.Do(func() { t.tick = time.NewTicker(20 * time.Millisecond) })
	select {
	case <-t.closed:
		return nil, func() {}, io.EOF
	case <-t.tick.C:
	}
	const n = 960
	a := wave.NewInt16Interleaved(wave.ChunkInfo{Channels: 1, Len: n, SamplingRate: 48000})
	step := 2 * math.Pi * 440 / 48000
	for i := 0; i < n; i++ {
		a.Data[i] = int16(0.25 * 32767 * math.Sin(t.phase))
		t.phase += step
	}
	t.phase = math.Mod(t.phase, 2*math.Pi)
	return a, func() {}, nil
}

// ---------------------------------------------------------------- peer

func peer(role string, args []string) {
	fs := flag.NewFlagSet(role, flag.ExitOnError)
	dur := fs.Duration("dur", 20*time.Second, "call duration after connected")
	decode := fs.Bool("decode", false, "decode received Opus with a 20 ms timer-paced pull")
	fs.Parse(args)
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, "["+role+"] "+f+"\n", a...) }
	if d := os.Getenv("BAREPION_PPROF"); d != "" {
		f, err := os.Create(d + "/" + role + ".pprof")
		must(err)
		must(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	opusParams, err := opus.NewParams()
	must(err)
	selector := mediadevices.NewCodecSelector(mediadevices.WithAudioEncoders(&opusParams))

	me := &webrtc.MediaEngine{}
	selector.Populate(me)
	ir := &interceptor.Registry{}
	must(webrtc.RegisterDefaultInterceptors(me, ir))
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))

	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	must(err)

	track := mediadevices.NewAudioTrack(newTone(), selector)
	_, err = pc.AddTrack(track)
	must(err)

	var rxPkts, rxBytes, decFrames, plcFrames atomic.Int64
	stop := make(chan struct{})
	var rxWG sync.WaitGroup
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		logf("remote track %s %s", tr.Kind(), tr.Codec().MimeType)
		var q chan []byte
		if *decode {
			q = make(chan []byte, 50)
			rxWG.Add(1)
			go func() { // playout: 20 ms timer-paced pull + libopus decode
				defer rxWG.Done()
				var cerr C.int
				dec := C.opus_decoder_create(48000, 1, &cerr)
				if cerr != C.OPUS_OK {
					panic("opus_decoder_create")
				}
				defer C.opus_decoder_destroy(dec)
				pcm := make([]int16, 960*6)
				tk := time.NewTicker(20 * time.Millisecond)
				defer tk.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tk.C:
					}
					select {
					case p := <-q:
						n := C.opus_decode(dec, (*C.uchar)(&p[0]), C.opus_int32(len(p)), (*C.opus_int16)(&pcm[0]), C.int(960*6), 0)
						if n > 0 {
							decFrames.Add(1)
						}
					default:
						C.opus_decode(dec, nil, 0, (*C.opus_int16)(&pcm[0]), 960, 0) // PLC
						plcFrames.Add(1)
					}
				}
			}()
		}
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			rxPkts.Add(1)
			rxBytes.Add(int64(len(pkt.Payload)))
			if q != nil && len(pkt.Payload) > 0 {
				select {
				case q <- pkt.Payload:
				default: // queue full: drop
				}
			}
		}
	})

	connected := make(chan struct{})
	var connOnce sync.Once
	t0 := time.Now()
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		logf("state %s at %v", s, time.Since(t0).Round(time.Microsecond))
		if s == webrtc.PeerConnectionStateConnected {
			connOnce.Do(func() { close(connected) })
		}
	})

	in := bufio.NewReader(os.Stdin)
	readSDP := func() webrtc.SessionDescription {
		line, err := in.ReadString('\n')
		must(err)
		var sd webrtc.SessionDescription
		must(json.Unmarshal([]byte(line), &sd))
		return sd
	}
	writeSDP := func() {
		b, err := json.Marshal(pc.LocalDescription())
		must(err)
		os.Stdout.Write(append(b, '\n'))
	}

	if role == "offer" {
		off, err := pc.CreateOffer(nil)
		must(err)
		g := webrtc.GatheringCompletePromise(pc)
		must(pc.SetLocalDescription(off))
		<-g
		writeSDP()
		must(pc.SetRemoteDescription(readSDP()))
	} else {
		must(pc.SetRemoteDescription(readSDP()))
		ans, err := pc.CreateAnswer(nil)
		must(err)
		g := webrtc.GatheringCompletePromise(pc)
		must(pc.SetLocalDescription(ans))
		<-g
		writeSDP()
	}

	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		logf("not connected after 10 s")
		os.Exit(1)
	}
	time.Sleep(*dur)
	close(stop)
	tc := time.Now()
	must(pc.Close()) // PC before track (track first freezes pc.Close)
	track.Close()
	rxWG.Wait()
	logf("closed in %v; rx %d pkts %d B; decoded %d plc %d; self VmHWM %d kB",
		time.Since(tc).Round(time.Microsecond), rxPkts.Load(), rxBytes.Load(), decFrames.Load(), plcFrames.Load(), vmHWM(os.Getpid()))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// ---------------------------------------------------------------- driver

func vmHWM(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return -1
}

type child struct {
	role string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	hwm  atomic.Int64
	done chan struct{}
}

func drive(args []string) {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	dur := fs.Duration("dur", 20*time.Second, "")
	decode := fs.Bool("decode", false, "")
	gmp := fs.Int("gomaxprocs", 0, "GOMAXPROCS for children (0 = unset)")
	perf := fs.String("perf", "", "wrap this role in perf stat")
	fs.Parse(args)

	self, _ := os.Executable()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("loadavg before: %s", load)

	start := func(role string) *child {
		cargs := []string{role, "-dur", dur.String()}
		if *decode {
			cargs = append(cargs, "-decode")
		}
		var cmd *exec.Cmd
		if *perf == role {
			cmd = exec.Command("perf", append([]string{"stat", "-e", "context-switches,cpu-clock,task-clock", "--", self}, cargs...)...)
		} else {
			cmd = exec.Command(self, cargs...)
		}
		cmd.Env = os.Environ()
		if *gmp > 0 {
			cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(*gmp))
		}
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		must(err)
		out, err := cmd.StdoutPipe()
		must(err)
		must(cmd.Start())
		c := &child{role: role, cmd: cmd, in: in, out: bufio.NewReader(out), done: make(chan struct{})}
		go func() { // poll VmHWM every 20 ms
			pid := cmd.Process.Pid
			tk := time.NewTicker(20 * time.Millisecond)
			defer tk.Stop()
			for {
				p := pid
				if *perf == role { // measure perf's child
					if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
						if f := strings.Fields(string(b)); len(f) > 0 {
							p, _ = strconv.Atoi(f[0])
						}
					}
				}
				if v := vmHWM(p); v > c.hwm.Load() && p != pid || (v > c.hwm.Load() && *perf != role) {
					c.hwm.Store(v)
				}
				select {
				case <-c.done:
					return
				case <-tk.C:
				}
			}
		}()
		return c
	}
	off := start("offer")
	ans := start("answer")
	relay := func(from, to *child) {
		line, err := from.out.ReadString('\n')
		must(err)
		_, err = to.in.Write([]byte(line))
		must(err)
	}
	relay(off, ans)
	relay(ans, off)

	wait := func(c *child) (float64, error) {
		io.Copy(io.Discard, c.out)
		err := c.cmd.Wait()
		close(c.done)
		ru := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		fmt.Printf("RESULT %-6s cpu %.3f s (user %.3f sys %.3f)  VmHWM %.1f MB  wall-rusage nvcsw %d nivcsw %d\n",
			c.role, cpu, float64(ru.Utime.Nano())/1e9, float64(ru.Stime.Nano())/1e9, float64(c.hwm.Load())/1024, ru.Nvcsw, ru.Nivcsw)
		return cpu, err
	}
	var errs []error
	for _, c := range []*child{off, ans} {
		if _, err := wait(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.role, err))
		}
	}
	load, _ = os.ReadFile("/proc/loadavg")
	fmt.Printf("loadavg after: %s", load)
	if err := errors.Join(errs...); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
}

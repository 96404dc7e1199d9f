//go:build linux

package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/softphone/softphone/bench/netem"
)

// Config is one bridge between interfaces A and B.
type Config struct {
	A, B string        // interface names in this namespace
	AtoB netem.Profile // what frames from A to B go through
	BtoA netem.Profile
	// AtoBLater and BtoALater follow AtoB and BtoA during the run: each
	// phase applies from its At after the bridge's start (netem.ParsePlan).
	AtoBLater, BtoALater []netem.Phase
	// All impairs every frame; by default only IPv4/IPv6 UDP (the media)
	// is impaired and everything else — ARP, the TCP of the signaling
	// WebSocket — passes at once, as the product's own --impair does.
	All bool
	Log *slog.Logger
}

// Bridge forwards frames both ways until its context ends.
type Bridge struct {
	cfg  Config
	a, b *port
	ab   *dir
	ba   *dir
}

type dir struct {
	link *netem.Link
	// first is the profile the direction started with; later the phases
	// still to come (only readLoop touches later).
	first string
	later []netem.Phase
	from  *port
	to    *port
	all   bool
	log   *slog.Logger

	mu        sync.Mutex
	meter     meter
	switched  []Switch
	bypassed  uint64
	reordered uint64
	writeErrs uint64
}

type frame struct {
	data []byte
}

// New opens both interfaces.
func New(cfg Config) (*Bridge, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a, err := openPort(cfg.A)
	if err != nil {
		return nil, err
	}
	b, err := openPort(cfg.B)
	if err != nil {
		a.close()
		return nil, err
	}
	br := &Bridge{cfg: cfg, a: a, b: b}
	start := time.Now()
	br.ab = &dir{link: netem.NewLink(cfg.AtoB), first: cfg.AtoB.String(), later: cfg.AtoBLater, from: a, to: b, all: cfg.All,
		log: cfg.Log.With("dir", cfg.A+"→"+cfg.B), meter: meter{start: start}}
	br.ba = &dir{link: netem.NewLink(cfg.BtoA), first: cfg.BtoA.String(), later: cfg.BtoALater, from: b, to: a, all: cfg.All,
		log: cfg.Log.With("dir", cfg.B+"→"+cfg.A), meter: meter{start: start}}
	return br, nil
}

// Run forwards until ctx ends, then closes the sockets. Frames still held
// back by a delay are dropped, as when a qdisc is removed.
func (br *Bridge) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, d := range []*dir{br.ab, br.ba} {
		in := make(chan timed, 4096)
		wg.Add(2)
		go func() { defer wg.Done(); d.readLoop(ctx, in) }()
		go func() { defer wg.Done(); d.sendLoop(ctx, in) }()
	}
	wg.Wait()
	return errors.Join(br.a.close(), br.b.close())
}

// Stats returns the counters so far.
func (br *Bridge) Stats() Stats {
	return Stats{AtoB: br.ab.stats(), BtoA: br.ba.stats()}
}

func (d *dir) stats() Direction {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.link.Profile()
	return Direction{
		Counters:      d.link.Counters(),
		Bypassed:      d.bypassed,
		Reordered:     d.reordered,
		WriteErrs:     d.writeErrs,
		Profile:       d.first,
		MeanLossPc:    100 * p.MeanLoss(),
		Switched:      append([]Switch(nil), d.switched...),
		Start:         d.meter.start,
		OfferedKbps:   kbps(d.meter.offered),
		DeliveredKbps: kbps(d.meter.delivered),
	}
}

// timed is a frame with its release time; bypass frames leave at once.
type timed struct {
	at time.Time
	f  frame
}

func (d *dir) readLoop(ctx context.Context, out chan<- timed) {
	defer close(out)
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		n, err := d.from.read(buf)
		if err == errTimeout {
			continue
		}
		if err != nil {
			d.log.Warn("read failed, direction stops", "err", err)
			return
		}
		now := time.Now()
		d.mu.Lock()
		d.meter.slot(&d.meter.offered, now, n)
		d.mu.Unlock()
		d.advance(now)
		f := frame{data: append([]byte(nil), buf[:n]...)}
		if !d.all && !isUDP(f.data) {
			d.mu.Lock()
			d.bypassed++
			d.mu.Unlock()
			out <- timed{at: now, f: f}
			continue
		}
		at, v := d.link.Admit(now, n)
		if v != netem.Pass {
			continue
		}
		out <- timed{at: at, f: f}
	}
}

// advance switches the link to the phases whose time has come.
func (d *dir) advance(now time.Time) {
	for len(d.later) > 0 && now.Sub(d.meter.start) >= d.later[0].At {
		ph := d.later[0]
		d.later = d.later[1:]
		d.link.SetProfile(ph.Profile)
		d.mu.Lock()
		d.switched = append(d.switched, Switch{At: now, Profile: ph.Profile.String()})
		d.mu.Unlock()
		d.log.Info("profile changed", "profile", ph.Profile.String())
	}
}

func (d *dir) sendLoop(ctx context.Context, in <-chan timed) {
	var s netem.Schedule[frame]
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []frame
	for {
		if next, ok := s.Next(); ok {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			return
		case t, ok := <-in:
			if !ok {
				return
			}
			s.Add(t.at, t.f)
		case <-timer.C:
		}
		due = s.Due(time.Now(), due[:0])
		for _, f := range due {
			if err := d.to.write(f.data); err != nil {
				d.mu.Lock()
				d.writeErrs++
				d.mu.Unlock()
				d.log.Debug("write failed", "err", err, "len", len(f.data))
				continue
			}
			d.mu.Lock()
			d.meter.slot(&d.meter.delivered, time.Now(), len(f.data))
			d.mu.Unlock()
		}
		d.mu.Lock()
		d.reordered = s.Reordered()
		d.mu.Unlock()
	}
}

package red

// Encoder turns a stream of primary frames into RED payloads carrying
// copies of the previous frames. It is not safe for concurrent use.
type Encoder struct {
	hist []frame // the last MaxDistance primaries, oldest first
	buf  []byte
}

type frame struct {
	ts   uint32
	pt   uint8
	data []byte
}

// MaxDistance is the most earlier frames one packet repeats.
const MaxDistance = 8

// Encode returns the RED payload for primary (payload type pt, RTP
// timestamp ts) with copies of up to distance previous frames. The result
// is valid until the next call. Frames older than the offset field allows,
// and frames of an earlier timestamp epoch, are not repeated.
func (e *Encoder) Encode(pt uint8, ts uint32, primary []byte, distance int) []byte {
	distance = min(max(distance, 0), MaxDistance)
	var red [MaxDistance]Block
	n := 0
	for i := max(len(e.hist)-distance, 0); i < len(e.hist); i++ {
		f := e.hist[i]
		off := ts - f.ts
		if off == 0 || off > MaxOffset {
			continue
		}
		red[n] = Block{PT: f.pt, Offset: off, Data: f.data}
		n++
	}
	e.buf = Append(e.buf[:0], red[:n], Block{PT: pt, Data: primary})
	e.remember(pt, ts, primary)
	return e.buf
}

// remember keeps a copy of the primary, reusing the oldest slot's memory.
func (e *Encoder) remember(pt uint8, ts uint32, data []byte) {
	var f frame
	if len(e.hist) == MaxDistance {
		f = e.hist[0]
		copy(e.hist, e.hist[1:])
		e.hist = e.hist[:MaxDistance-1]
	}
	f.ts, f.pt, f.data = ts, pt, append(f.data[:0], data...)
	e.hist = append(e.hist, f)
}

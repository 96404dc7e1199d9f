// Package red reads and writes RFC 2198 redundant audio payloads, the
// scheme browsers negotiate as audio/red for Opus: each packet carries the
// new (primary) frame and copies of up to a few earlier frames, so a
// receiver that lost a packet finds its frame in one of the next ones.
//
// Wire format (RFC 2198 §3): one 4-byte header per redundant block
//
//	|F=1| block PT (7) | timestamp offset (14) | block length (10) |
//
// then a 1-byte header |F=0| primary PT (7)|, then the redundant blocks'
// data in header order, then the primary data, which runs to the end.
package red

import (
	"errors"
	"fmt"
)

// Limits. A redundant block's offset and length are 14- and 10-bit fields;
// a packet is kept under the size browsers use for audio (1200 bytes) so the
// copies never push it past a path's MTU.
const (
	MaxOffset    = 1<<14 - 1
	MaxBlockLen  = 1<<10 - 1
	MaxPacket    = 1200
	MaxBlocks    = 32 // blocks Split accepts in one payload, primary included
	redHeaderLen = 4
)

// Errors of Split.
var (
	ErrTruncated = errors.New("red: payload truncated")
	ErrTooMany   = errors.New("red: too many blocks")
)

// Block is one frame in a RED payload. Data aliases the payload it was
// split from.
type Block struct {
	PT     uint8  // payload type of the block's codec
	Offset uint32 // how much earlier than the packet's timestamp the block's frame starts (0 for the primary)
	Data   []byte
}

// Split parses payload into its blocks, oldest first and the primary last,
// appending to dst (pass dst[:0] of a reused slice to avoid allocation).
// A payload that does not parse returns an error and no blocks.
func Split(dst []Block, payload []byte) ([]Block, error) {
	start := len(dst)
	var lens [MaxBlocks]int
	pos := 0
	for {
		if pos >= len(payload) {
			return dst[:start], ErrTruncated
		}
		b := payload[pos]
		if b&0x80 == 0 {
			dst = append(dst, Block{PT: b & 0x7f})
			pos++
			break
		}
		if pos+redHeaderLen > len(payload) {
			return dst[:start], ErrTruncated
		}
		if len(dst)-start >= MaxBlocks-1 {
			return dst[:start], ErrTooMany
		}
		h := uint32(payload[pos+1])<<16 | uint32(payload[pos+2])<<8 | uint32(payload[pos+3])
		lens[len(dst)-start] = int(h & 0x3ff)
		dst = append(dst, Block{PT: b & 0x7f, Offset: h >> 10})
		pos += redHeaderLen
	}
	blocks := dst[start:]
	for i := range blocks[:len(blocks)-1] {
		n := lens[i]
		if pos+n > len(payload) {
			return dst[:start], fmt.Errorf("%w: block %d of %d bytes at %d of %d", ErrTruncated, i, n, pos, len(payload))
		}
		blocks[i].Data = payload[pos : pos+n : pos+n]
		pos += n
	}
	blocks[len(blocks)-1].Data = payload[pos:len(payload):len(payload)]
	return dst, nil
}

// Append writes a RED payload of the redundant blocks (oldest first) and
// the primary to dst. Redundant blocks that do not fit the format (offset,
// length) or the packet size limit are left out, oldest first; the primary
// is always written.
func Append(dst []byte, redundant []Block, primary Block) []byte {
	size := 1 + len(primary.Data)
	first := len(redundant)
	for i := len(redundant) - 1; i >= 0; i-- {
		b := redundant[i]
		if b.Offset > MaxOffset || len(b.Data) > MaxBlockLen || len(b.Data) == 0 {
			break
		}
		if size+redHeaderLen+len(b.Data) > MaxPacket {
			break
		}
		size += redHeaderLen + len(b.Data)
		first = i
	}
	for _, b := range redundant[first:] {
		h := b.Offset<<10 | uint32(len(b.Data))
		dst = append(dst, 0x80|b.PT&0x7f, byte(h>>16), byte(h>>8), byte(h))
	}
	dst = append(dst, primary.PT&0x7f)
	for _, b := range redundant[first:] {
		dst = append(dst, b.Data...)
	}
	return append(dst, primary.Data...)
}

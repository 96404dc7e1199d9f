package red_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/softphone/softphone/media/red"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    []red.Block
		err     error
	}{
		{"primary only", []byte{111, 1, 2, 3}, []red.Block{{PT: 111, Data: []byte{1, 2, 3}}}, nil},
		{"empty primary", []byte{111}, []red.Block{{PT: 111, Data: []byte{}}}, nil},
		{
			"one redundant (RFC 2198 §3 layout)",
			// F=1 PT 111, offset 960, length 2; then F=0 PT 111.
			[]byte{0x80 | 111, 0x0f, 0x00, 0x02, 111, 9, 8, 7},
			[]red.Block{{PT: 111, Offset: 960, Data: []byte{9, 8}}, {PT: 111, Data: []byte{7}}},
			nil,
		},
		{
			"two redundant, oldest first",
			[]byte{0x80 | 111, 0x1e, 0x00, 0x01, 0x80 | 111, 0x0f, 0x00, 0x01, 111, 0xaa, 0xbb, 0xcc},
			[]red.Block{{PT: 111, Offset: 1920, Data: []byte{0xaa}}, {PT: 111, Offset: 960, Data: []byte{0xbb}}, {PT: 111, Data: []byte{0xcc}}},
			nil,
		},
		{"empty", nil, nil, red.ErrTruncated},
		{"header cut", []byte{0x80 | 111, 0x0f}, nil, red.ErrTruncated},
		{"no primary header", []byte{0x80 | 111, 0x0f, 0x00, 0x02}, nil, red.ErrTruncated},
		{"block longer than payload", []byte{0x80 | 111, 0x0f, 0x03, 0xff, 111, 1}, nil, red.ErrTruncated},
		{"too many blocks", append(bytes.Repeat([]byte{0x80 | 111, 0, 0, 0}, red.MaxBlocks), 111), nil, red.ErrTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := red.Split(nil, tt.payload)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d blocks, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i].PT != tt.want[i].PT || got[i].Offset != tt.want[i].Offset || !bytes.Equal(got[i].Data, tt.want[i].Data) {
					t.Errorf("block %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestAppendLimits(t *testing.T) {
	big := bytes.Repeat([]byte{1}, 500)
	tests := []struct {
		name      string
		redundant []red.Block
		primary   red.Block
		keep      int // redundant blocks expected in the packet
	}{
		{"all fit", []red.Block{{PT: 111, Offset: 1920, Data: []byte{1}}, {PT: 111, Offset: 960, Data: []byte{2}}}, red.Block{PT: 111, Data: []byte{3}}, 2},
		{"offset too large drops the older", []red.Block{{PT: 111, Offset: red.MaxOffset + 1, Data: []byte{1}}, {PT: 111, Offset: 960, Data: []byte{2}}}, red.Block{PT: 111, Data: []byte{3}}, 1},
		{"block too long", []red.Block{{PT: 111, Offset: 960, Data: bytes.Repeat([]byte{1}, red.MaxBlockLen+1)}}, red.Block{PT: 111, Data: []byte{3}}, 0},
		{"packet size bound keeps the newest", []red.Block{{PT: 111, Offset: 2880, Data: big}, {PT: 111, Offset: 1920, Data: big}, {PT: 111, Offset: 960, Data: big}}, red.Block{PT: 111, Data: big[:100]}, 2},
		{"empty redundant block skipped", []red.Block{{PT: 111, Offset: 960}}, red.Block{PT: 111, Data: []byte{3}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := red.Append(nil, tt.redundant, tt.primary)
			if len(p) > red.MaxPacket {
				t.Fatalf("packet of %d bytes > %d", len(p), red.MaxPacket)
			}
			got, err := red.Split(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(got)-1 != tt.keep {
				t.Fatalf("%d redundant blocks kept, want %d", len(got)-1, tt.keep)
			}
			if !bytes.Equal(got[len(got)-1].Data, tt.primary.Data) {
				t.Fatal("primary changed")
			}
			want := tt.redundant[len(tt.redundant)-tt.keep:]
			for i, b := range got[:len(got)-1] {
				if b.Offset != want[i].Offset || !bytes.Equal(b.Data, want[i].Data) {
					t.Errorf("block %d = offset %d, want %d", i, b.Offset, want[i].Offset)
				}
			}
		})
	}
}

func TestEncoderDistance(t *testing.T) {
	var e red.Encoder
	frames := [][]byte{{1}, {2, 2}, {3, 3, 3}, {4}, {5}}
	tests := []struct {
		distance int
		wantTS   []uint32 // redundant offsets expected at the 5th frame
	}{{0, nil}, {1, []uint32{960}}, {2, []uint32{1920, 960}}, {4, []uint32{3840, 2880, 1920, 960}}, {20, []uint32{3840, 2880, 1920, 960}}}
	for _, tt := range tests {
		e = red.Encoder{}
		var p []byte
		for i, f := range frames {
			p = e.Encode(111, uint32(1000+960*i), f, tt.distance)
		}
		got, err := red.Split(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got)-1 != len(tt.wantTS) {
			t.Fatalf("distance %d: %d redundant blocks, want %d", tt.distance, len(got)-1, len(tt.wantTS))
		}
		for i, off := range tt.wantTS {
			if got[i].Offset != off || !bytes.Equal(got[i].Data, frames[len(frames)-1-int(off/960)]) {
				t.Errorf("distance %d block %d: offset %d data %v", tt.distance, i, got[i].Offset, got[i].Data)
			}
		}
		if !bytes.Equal(got[len(got)-1].Data, []byte{5}) {
			t.Errorf("distance %d: primary %v", tt.distance, got[len(got)-1].Data)
		}
	}
}

func TestEncoderSkipsTimestampJumps(t *testing.T) {
	var e red.Encoder
	e.Encode(111, 1000, []byte{1}, 2)
	p := e.Encode(111, 1000+40*48000, []byte{2}, 2) // 40 s later: offset beyond 14 bits
	got, err := red.Split(nil, p)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d blocks, err %v; want the primary alone", len(got), err)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte{111, 1, 2, 3})
	f.Add([]byte{0x80 | 111, 0x0f, 0x00, 0x02, 111, 9, 8, 7})
	f.Add([]byte{0x80 | 111, 0x1e, 0x00, 0x01, 0x80 | 111, 0x0f, 0x00, 0x01, 111, 0xaa, 0xbb, 0xcc})
	f.Fuzz(func(t *testing.T, payload []byte) {
		blocks, err := red.Split(nil, payload)
		if err != nil {
			if len(blocks) != 0 {
				t.Fatal("blocks returned with an error")
			}
			return
		}
		total := 0
		for i, b := range blocks {
			if i < len(blocks)-1 && (b.Offset > red.MaxOffset || len(b.Data) > red.MaxBlockLen) {
				t.Fatalf("block %d out of range: %+v", i, b)
			}
			if cap(b.Data) != len(b.Data) {
				t.Fatal("a block's capacity reaches into the next")
			}
			total += len(b.Data)
		}
		if want := len(payload) - 4*(len(blocks)-1) - 1; total != want {
			t.Fatalf("blocks hold %d bytes, want %d", total, want)
		}
		// What parses is rebuilt byte for byte when it fits the packet limit.
		if len(payload) <= red.MaxPacket {
			redundant := blocks[:len(blocks)-1]
			ok := true
			for _, b := range redundant {
				ok = ok && len(b.Data) > 0
			}
			if ok {
				if again := red.Append(nil, redundant, blocks[len(blocks)-1]); !bytes.Equal(again, payload) {
					t.Fatalf("rebuilt %x, want %x", again, payload)
				}
			}
		}
	})
}

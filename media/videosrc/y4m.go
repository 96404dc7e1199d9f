package videosrc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/softphone/softphone/media/framepool"
)

// Y4MOptions configures a Y4M source.
type Y4MOptions struct {
	// Loop rewinds to the first frame at the end (needs an io.Seeker); without
	// it Read returns io.EOF after the last frame.
	Loop bool
	// FPS overrides the header's frame rate when > 0.
	FPS float64
	// Unpaced returns frames as fast as Read is called.
	Unpaced bool
	// ID is the source ID reported to mediadevices; default "y4m".
	ID string
}

// Limits that keep a hostile header from allocating gigabytes.
const (
	maxY4MDim    = 8192
	maxY4MPixels = 4096 * 4096
	maxY4MLine   = 4096
)

// ErrY4M marks malformed Y4M input.
var ErrY4M = errors.New("videosrc: invalid y4m")

// Y4M reads a YUV4MPEG2 stream: colour spaces 420jpeg/420paldv/420mpeg2/420,
// 422, 444 (delivered with that subsampling) and mono (delivered as 4:2:0
// with neutral chroma). 8-bit only.
type Y4M struct {
	opts   Y4MOptions
	src    io.Reader
	closer io.Closer
	br     *bufio.Reader
	start  int64 // byte offset of the first FRAME, for looping

	width, height int
	fps           float64
	ratio         image.YCbCrSubsampleRatio
	mono          bool

	pace  *pacer
	pool  framepool.Pool
	done  chan struct{}
	close sync.Once

	mu          sync.Mutex
	sinceRewind int
}

// OpenY4M opens a Y4M file. Close closes the file.
func OpenY4M(path string, opts Y4MOptions) (*Y4M, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("videosrc: open y4m: %w", err)
	}
	y, err := NewY4M(f, opts)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("videosrc: %s: %w", path, err)
	}
	y.closer = f
	return y, nil
}

// NewY4M parses the stream header from r. Looping needs r to be an io.Seeker.
func NewY4M(r io.Reader, opts Y4MOptions) (*Y4M, error) {
	if opts.Loop {
		if _, ok := r.(io.Seeker); !ok {
			return nil, errors.New("videosrc: y4m loop needs a seekable input")
		}
	}
	if opts.ID == "" {
		opts.ID = "y4m"
	}
	var base int64
	if s, ok := r.(io.Seeker); ok && opts.Loop {
		var err error
		if base, err = s.Seek(0, io.SeekCurrent); err != nil {
			return nil, fmt.Errorf("videosrc: y4m: %w", err)
		}
	}
	y := &Y4M{opts: opts, src: r, br: bufio.NewReaderSize(r, 64<<10), done: make(chan struct{})}
	line, err := readLine(y.br)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrY4M, err)
	}
	if err := y.parseHeader(line); err != nil {
		return nil, err
	}
	y.start = base + int64(len(line)+1)
	fps := y.fps
	if opts.FPS > 0 {
		fps = opts.FPS
	}
	if fps <= 0 || fps > 1000 {
		fps = 30
	}
	y.fps = fps
	y.pace = newPacer(fps)
	return y, nil
}

func (y *Y4M) parseHeader(line []byte) error {
	fields := bytes.Fields(line)
	if len(fields) == 0 || string(fields[0]) != "YUV4MPEG2" {
		return fmt.Errorf("%w: missing YUV4MPEG2 signature", ErrY4M)
	}
	cs := "420jpeg"
	for _, f := range fields[1:] {
		v := string(f[1:])
		switch f[0] {
		case 'W':
			y.width, _ = strconv.Atoi(v)
		case 'H':
			y.height, _ = strconv.Atoi(v)
		case 'F':
			y.fps = parseRatio(v)
		case 'C':
			cs = v
		}
	}
	if y.width <= 0 || y.height <= 0 || y.width > maxY4MDim || y.height > maxY4MDim || y.width*y.height > maxY4MPixels {
		return fmt.Errorf("%w: size %dx%d", ErrY4M, y.width, y.height)
	}
	switch cs {
	case "420jpeg", "420paldv", "420mpeg2", "420":
		y.ratio = image.YCbCrSubsampleRatio420
	case "422":
		y.ratio = image.YCbCrSubsampleRatio422
	case "444":
		y.ratio = image.YCbCrSubsampleRatio444
	case "mono":
		y.ratio, y.mono = image.YCbCrSubsampleRatio420, true
	default:
		return fmt.Errorf("%w: colour space %q not supported", ErrY4M, cs)
	}
	return nil
}

func parseRatio(s string) float64 {
	n, d, ok := bytes.Cut([]byte(s), []byte{':'})
	if !ok {
		return 0
	}
	num, err1 := strconv.Atoi(string(n))
	den, err2 := strconv.Atoi(string(d))
	if err1 != nil || err2 != nil || num <= 0 || den <= 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// readLine reads up to '\n' (not included), bounded by maxY4MLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if b == '\n' {
			return line, nil
		}
		if len(line) >= maxY4MLine {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrY4M, maxY4MLine)
		}
		line = append(line, b)
	}
}

// Width, Height and FPS describe the stream.
func (y *Y4M) Width() int { return y.width }

// Height of the frames.
func (y *Y4M) Height() int { return y.height }

// FPS is the pacing frame rate (header or override).
func (y *Y4M) FPS() float64 { return y.fps }

// ID implements mediadevices.Source.
func (y *Y4M) ID() string { return y.opts.ID }

// Close stops pending Reads and closes the file opened by OpenY4M.
func (y *Y4M) Close() error {
	var err error
	y.close.Do(func() {
		close(y.done)
		if y.closer != nil {
			err = y.closer.Close()
		}
	})
	return err
}

// Read returns the next frame, paced at the stream's frame rate. At the end it
// rewinds (Loop) or returns io.EOF. The frame is owned by the caller; calling
// release lets the source reuse its memory.
func (y *Y4M) Read() (image.Image, func(), error) {
	y.mu.Lock()
	defer y.mu.Unlock()
	select {
	case <-y.done:
		return nil, nil, ErrClosed
	default:
	}
	img, err := y.next()
	if err != nil {
		return nil, nil, err
	}
	if !y.opts.Unpaced {
		if _, err := y.pace.wait(y.done); err != nil {
			return nil, nil, err
		}
	}
	return img, y.pool.Releaser(img), nil
}

func (y *Y4M) next() (*image.YCbCr, error) {
	line, err := readLine(y.br)
	if err == io.EOF && y.opts.Loop && y.sinceRewind > 0 {
		if _, serr := y.src.(io.Seeker).Seek(y.start, io.SeekStart); serr != nil {
			return nil, fmt.Errorf("videosrc: y4m rewind: %w", serr)
		}
		y.br.Reset(y.src)
		y.sinceRewind = 0
		line, err = readLine(y.br)
	}
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("videosrc: y4m frame header: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("FRAME")) {
		return nil, fmt.Errorf("%w: expected FRAME", ErrY4M)
	}
	img := y.pool.Get(image.Rect(0, 0, y.width, y.height), y.ratio)
	if _, err := io.ReadFull(y.br, img.Y); err != nil {
		return nil, fmt.Errorf("videosrc: y4m frame: %w", noEOF(err))
	}
	if y.mono {
		for i := range img.Cb {
			img.Cb[i], img.Cr[i] = 128, 128
		}
	} else {
		if _, err := io.ReadFull(y.br, img.Cb); err != nil {
			return nil, fmt.Errorf("videosrc: y4m frame: %w", noEOF(err))
		}
		if _, err := io.ReadFull(y.br, img.Cr); err != nil {
			return nil, fmt.Errorf("videosrc: y4m frame: %w", noEOF(err))
		}
	}
	y.sinceRewind++
	return img, nil
}

// noEOF turns a bare EOF inside a frame into ErrUnexpectedEOF: a truncated
// file is an error, not a clean end.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

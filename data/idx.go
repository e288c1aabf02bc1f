package data

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// IDX magic numbers for the two kinds of file MNIST-format data sets use.
const (
	MagicImagesU8 = 0x00000803 // unsigned bytes, 3 dimensions: count, rows, cols
	MagicLabelsU8 = 0x00000801 // unsigned bytes, 1 dimension: count
)

// MaxIDXBytes caps the data size an IDX header may declare (1 GiB, about 17
// times the full MNIST training images). Larger files are rejected before
// anything is allocated.
const MaxIDXBytes = 1 << 30

// Buffers for data of unknown length (gzip, pipes) start at this size and
// grow only as bytes arrive, so a lying header cannot force a big allocation.
const idxInitialChunk = 1 << 20

// IDX is one decoded IDX array of unsigned bytes.
type IDX struct {
	Dims []int  // sizes, outermost first (e.g. [60000 28 28])
	Data []byte // row-major elements, len = product of Dims
}

// IDXError reports a bad or truncated IDX file: which file and what is wrong.
type IDXError struct {
	Name string // file name or other label of the input
	Msg  string
	Err  error // underlying I/O or decompression error, if any
}

func (e *IDXError) Error() string {
	s := "data: IDX file " + e.Name + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *IDXError) Unwrap() error { return e.Err }

var idxTypeNames = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0B: "int16",
	0x0C: "int32",
	0x0D: "float32",
	0x0E: "float64",
}

// ReadIDXFile opens and decodes an IDX file, raw or gzip-compressed (detected
// by its magic bytes, whatever the file is called). For a raw file the
// declared size must match the file size exactly.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return readIDX(f, path, size)
}

// ReadIDX decodes an IDX stream, raw or gzip-compressed; name labels errors.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	return readIDX(r, name, -1)
}

// readIDX decodes from r. size is the byte length of r if known (a regular
// file), else -1.
func readIDX(r io.Reader, name string, size int64) (*IDX, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil && len(head) < 2 {
		if err != io.EOF {
			return nil, &IDXError{Name: name, Msg: "read failed", Err: err}
		}
		if len(head) == 0 {
			return nil, &IDXError{Name: name, Msg: "empty file"}
		}
		return nil, &IDXError{Name: name, Msg: "truncated: shorter than the 4-byte magic number"}
	}
	var src io.Reader = br
	if head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &IDXError{Name: name, Msg: "bad gzip header", Err: err}
		}
		defer zr.Close()
		src = zr
		size = -1 // the compressed size says nothing about the content
	}
	return decodeIDX(src, name, size)
}

func decodeIDX(r io.Reader, name string, size int64) (*IDX, error) {
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, readErr(name, err, fmt.Sprintf("truncated: %d of the 4 magic bytes present", n))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, &IDXError{Name: name, Msg: fmt.Sprintf(
			"bad magic number 0x%08X: an IDX file starts with two zero bytes (images 0x%08X, labels 0x%08X)",
			binary.BigEndian.Uint32(magic[:]), MagicImagesU8, MagicLabelsU8)}
	}
	if magic[2] != 0x08 {
		t, ok := idxTypeNames[magic[2]]
		if !ok {
			t = "unknown"
		}
		return nil, &IDXError{Name: name, Msg: fmt.Sprintf(
			"element type 0x%02X (%s) is not supported: only unsigned bytes (0x08) are", magic[2], t)}
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, &IDXError{Name: name, Msg: "header declares 0 dimensions"}
	}
	dimBytes := make([]byte, 4*nd)
	if n, err := io.ReadFull(r, dimBytes); err != nil {
		return nil, readErr(name, err, fmt.Sprintf("truncated header: %d dimensions need %d bytes, %d present", nd, 4*nd, n))
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		dims[i] = int(d)
		if d == 0 {
			total = 0
			continue
		}
		if total > 0 && total > MaxIDXBytes/int64(d) {
			return nil, &IDXError{Name: name, Msg: fmt.Sprintf(
				"dimensions %s declare more than the %d-byte limit", dimString(dims[:i+1]), MaxIDXBytes)}
		}
		if total > 0 {
			total *= int64(d)
		}
	}
	if size >= 0 {
		have := size - 4 - int64(4*nd)
		if have < total {
			return nil, &IDXError{Name: name, Msg: fmt.Sprintf(
				"truncated: dimensions %s declare %d data bytes, the file holds %d", dimString(dims), total, have)}
		}
		if have > total {
			return nil, &IDXError{Name: name, Msg: fmt.Sprintf(
				"%d unexpected bytes after the %d data bytes that dimensions %s declare", have-total, total, dimString(dims))}
		}
	}
	var data []byte
	var err error
	if size >= 0 {
		// The file size vouches for the header: read in one piece.
		data = make([]byte, total)
		var n int
		n, err = io.ReadFull(r, data)
		data = data[:n]
	} else {
		data, err = readGrowing(r, int(total))
	}
	if err != nil {
		return nil, readErr(name, err, fmt.Sprintf(
			"truncated: dimensions %s declare %d data bytes, only %d present", dimString(dims), total, len(data)))
	}
	// Anything after the data means the header does not describe the file.
	var extra [1]byte
	if n, err := io.ReadFull(r, extra[:]); n > 0 {
		return nil, &IDXError{Name: name, Msg: fmt.Sprintf(
			"unexpected bytes after the %d data bytes that dimensions %s declare", total, dimString(dims))}
	} else if err != nil && err != io.EOF {
		return nil, &IDXError{Name: name, Msg: "reading past the data", Err: err}
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// readErr turns a short read into a truncation message, and any other read
// or decompression failure into an error that keeps its cause.
func readErr(name string, err error, truncMsg string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &IDXError{Name: name, Msg: truncMsg}
	}
	return &IDXError{Name: name, Msg: "read failed", Err: err}
}

// readGrowing reads exactly n bytes, growing its buffer only as data arrives.
// On a short read it returns what it got and the error.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, idxInitialChunk))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		m, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func dimString(d []int) string {
	var b strings.Builder
	for i, v := range d {
		if i > 0 {
			b.WriteString("×")
		}
		fmt.Fprint(&b, v)
	}
	return b.String()
}

// WriteIDX encodes an unsigned-byte IDX array with the given dimensions.
func WriteIDX(w io.Writer, dims []int, data []byte) error {
	if len(dims) == 0 || len(dims) > 255 {
		return fmt.Errorf("data: WriteIDX: %d dimensions, want 1 to 255", len(dims))
	}
	total := 1
	head := make([]byte, 4+4*len(dims))
	head[2] = 0x08
	head[3] = byte(len(dims))
	for i, d := range dims {
		if d < 0 || uint64(d) > 0xFFFFFFFF {
			return fmt.Errorf("data: WriteIDX: dimension %d is %d, out of range", i, d)
		}
		binary.BigEndian.PutUint32(head[4+4*i:], uint32(d))
		total *= d
	}
	if total != len(data) {
		return fmt.Errorf("data: WriteIDX: dimensions %s need %d bytes, got %d", dimString(dims), total, len(data))
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("data: WriteIDX: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("data: WriteIDX: %w", err)
	}
	return nil
}

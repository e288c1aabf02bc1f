package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// Limits caps what a reader accepts. A zero field means its default.
type Limits struct {
	// MaxHeader caps the JSON header length N (the reference implementation
	// rejects headers over 100,000,000 bytes too).
	MaxHeader int64
	// MaxTotal caps the decoded file size: 8 + N + the byte buffer, checked
	// once the header is read and before the buffer is. It bounds the memory
	// a zstd stream can make the reader use: the reader never takes more than
	// MaxTotal+1 decoded bytes from the stream.
	MaxTotal int64
	// MaxWindow caps the zstd window a frame may declare; the decoder
	// allocates it when the frame starts. Our writer uses 8 MiB; the zstd CLI
	// uses at most 8 MiB below --ultra, and 128 MiB with --long or -22.
	MaxWindow int64
}

// DefaultLimits are used by [ReadFile] and for zero fields of a [Limits]:
// header ≤ 100 MB, decoded file ≤ 4 GiB, zstd window ≤ 128 MiB.
var DefaultLimits = Limits{MaxHeader: 100_000_000, MaxTotal: 4 << 30, MaxWindow: 128 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxHeader <= 0 {
		l.MaxHeader = DefaultLimits.MaxHeader
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultLimits.MaxTotal
	}
	if l.MaxWindow <= 0 {
		l.MaxWindow = DefaultLimits.MaxWindow
	}
	if l.MaxWindow < zstd.MinWindowSize {
		l.MaxWindow = zstd.MinWindowSize
	}
	return l
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// isZstd reports whether b starts with a zstd frame or skippable-frame magic
// number. A plain safetensors file cannot start like that under any header
// limit below 407 MB: its first 8 bytes are the header length, and these
// magics read as lengths of at least 0x184D2A50.
func isZstd(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	m := binary.LittleEndian.Uint32(b)
	return m == 0xFD2FB528 || m&0xFFFFFFF0 == 0x184D2A50
}

// Decode reads one safetensors file from r, plain or zstd-compressed (told
// apart by the zstd magic number), and checks it strictly. r must hold
// nothing after the file.
func Decode(r io.Reader, limits Limits) (*File, error) {
	return decode(r, limits, -1)
}

// decode is Decode with the exact size of plain input when known (size ≥ 0),
// which lets it reject lying headers before reading and allocate once.
func decode(r io.Reader, limits Limits, size int64) (*File, error) {
	l := limits.withDefaults()
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(4)
	if !isZstd(magic) {
		return decodePlain(br, l, size, false)
	}
	zr, err := zstd.NewReader(br,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(uint64(l.MaxWindow)))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return decodePlain(zr, l, -1, true)
}

// readErr turns an error met while reading what into a clear error.
func readErr(err error, zst bool, what string) error {
	switch {
	case !zst:
	case errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return fmt.Errorf("%w: zstd frame declares a window over Limits.MaxWindow while reading %s: %w", ErrTooLarge, what, err)
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return fmt.Errorf("%w: zstd window over Limits.MaxWindow, or corrupt zstd stream, while reading %s: %w", ErrTooLarge, what, errors.Join(ErrFormat, err))
	case errors.Is(err, io.ErrUnexpectedEOF):
		// io.ReadFull reports a short read this way too, so the zstd stream
		// or the file inside it may be what is cut.
		return formatErr("truncated while reading %s from the zstd stream", what)
	case !errors.Is(err, io.EOF):
		return formatErr("corrupt zstd stream while reading %s: %w", what, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return formatErr("truncated while reading %s", what)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// readGrow reads exactly n bytes, growing its buffer (at most doubling) only
// as bytes arrive unless exact says n bytes are known to be there. It returns
// what it got and the error that stopped it short.
func readGrow(r io.Reader, n int64, exact bool) ([]byte, error) {
	c := n
	if !exact {
		c = min(n, 1<<16)
	}
	buf := make([]byte, 0, c)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(n, 2*int64(cap(buf))))
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

type entry struct {
	name       string
	t          Tensor
	begin, end uint64
}

func decodePlain(r io.Reader, l Limits, size int64, zst bool) (*File, error) {
	var nb [8]byte
	if _, err := io.ReadFull(r, nb[:]); err != nil {
		return nil, readErr(err, zst, "the 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n > uint64(l.MaxHeader) {
		return nil, fmt.Errorf("%w: header length %d exceeds the limit of %d bytes (Limits.MaxHeader)", ErrTooLarge, n, l.MaxHeader)
	}
	if size >= 0 && n > uint64(size-8) {
		return nil, formatErr("header length %d is larger than the %d bytes that follow it", n, size-8)
	}
	h, err := readGrow(r, int64(n), size >= 0)
	if err != nil {
		return nil, readErr(err, zst, fmt.Sprintf("the %d-byte header (got %d)", n, len(h)))
	}
	meta, entries, err := parseHeader(h)
	if err != nil {
		return nil, err
	}
	dataLen, err := checkOffsets(entries)
	if err != nil {
		return nil, err
	}
	total, carry := bits.Add64(8+n, dataLen, 0) // 8+n ≤ 8+MaxHeader cannot overflow
	if carry != 0 || total > uint64(l.MaxTotal) {
		return nil, fmt.Errorf("%w: file of %d bytes (header %d, buffer %d) exceeds the limit of %d bytes (Limits.MaxTotal)", ErrTooLarge, total, n, dataLen, l.MaxTotal)
	}
	if size >= 0 {
		have := uint64(size) - 8 - n
		if have < dataLen {
			return nil, truncated(entries, have, dataLen)
		}
		if have > dataLen {
			return nil, formatErr("%d trailing bytes after the %d-byte buffer", have-dataLen, dataLen)
		}
	}
	data, err := readGrow(r, int64(dataLen), size >= 0)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, truncated(entries, uint64(len(data)), dataLen)
		}
		return nil, readErr(err, zst, "the byte buffer")
	}
	// Nothing may follow; reading to the end also makes zstd check its
	// final block and checksum.
	var one [1]byte
	if m, err := io.ReadFull(r, one[:]); m > 0 {
		return nil, formatErr("trailing bytes after the %d-byte buffer", dataLen)
	} else if err != io.EOF {
		return nil, readErr(err, zst, "the end of the file")
	}
	f := &File{Metadata: meta, Tensors: make(map[string]Tensor, len(entries))}
	for _, e := range entries {
		e.t.Data = data[e.begin:e.end:e.end]
		f.Tensors[e.name] = e.t
	}
	return f, nil
}

// truncated names the first tensor whose bytes are missing.
func truncated(entries []entry, have, want uint64) error {
	for _, e := range entries {
		if e.end > have {
			return formatErr("truncated: byte buffer has %d of %d bytes; tensor %q [%d,%d) is incomplete", have, want, e.name, e.begin, e.end)
		}
	}
	return formatErr("truncated: byte buffer has %d of %d bytes", have, want)
}

// checkOffsets sorts entries by offset and checks they tile the buffer
// exactly, with sizes matching dtype and shape. It returns the buffer length.
func checkOffsets(entries []entry) (uint64, error) {
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.begin != b.begin {
			return a.begin < b.begin
		}
		if a.end != b.end {
			return a.end < b.end
		}
		return a.name < b.name
	})
	var pos uint64
	prev := ""
	for _, e := range entries {
		if e.end < e.begin {
			return 0, formatErr("tensor %q: data_offsets [%d,%d] end before they begin", e.name, e.begin, e.end)
		}
		need, err := e.t.byteSize()
		if err != nil {
			return 0, formatErr("tensor %q: %v", e.name, err)
		}
		if e.end-e.begin != uint64(need) {
			return 0, formatErr("tensor %q: %s shape %v needs %d bytes but data_offsets [%d,%d] hold %d", e.name, e.t.DType, e.t.Shape, need, e.begin, e.end, e.end-e.begin)
		}
		switch {
		case e.begin > pos:
			return 0, formatErr("tensor %q: data_offsets [%d,%d] leave a gap after byte %d", e.name, e.begin, e.end, pos)
		case e.begin < pos:
			return 0, formatErr("tensor %q: data_offsets [%d,%d] overlap tensor %q ending at %d", e.name, e.begin, e.end, prev, pos)
		}
		pos, prev = e.end, e.name
	}
	return pos, nil
}

// headerParser walks the header's JSON tokens, so duplicate keys can be seen
// (encoding/json's map decoding silently keeps the last one).
type headerParser struct {
	dec *json.Decoder
}

func (p *headerParser) token(where string) (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, formatErr("header JSON %s: %v (at byte %d)", where, err, se.Offset)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, formatErr("header JSON ends early %s", where)
		}
		return nil, formatErr("header JSON %s: %v", where, err)
	}
	return t, nil
}

func (p *headerParser) delim(want json.Delim, where string) error {
	t, err := p.token(where)
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return formatErr("header %s: expected %q, found %v", where, string(want), describe(t))
	}
	return nil
}

func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return strconv.Quote(string(v))
	case string:
		return "string " + strconv.Quote(v)
	case json.Number:
		return "number " + string(v)
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", t)
}

// key reads an object key (the decoder guarantees keys are strings).
func (p *headerParser) key(where string) (string, error) {
	t, err := p.token(where)
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", formatErr("header %s: expected a key, found %s", where, describe(t))
	}
	return k, nil
}

func (p *headerParser) uint(where string) (uint64, error) {
	t, err := p.token(where)
	if err != nil {
		return 0, err
	}
	num, ok := t.(json.Number)
	if !ok {
		return 0, formatErr("header %s: expected a non-negative integer, found %s", where, describe(t))
	}
	v, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil {
		return 0, formatErr("header %s: %s is not a non-negative 64-bit integer", where, string(num))
	}
	return v, nil
}

func parseHeader(h []byte) (map[string]string, []entry, error) {
	if len(h) == 0 || h[0] != '{' {
		return nil, nil, formatErr("header does not start with '{'")
	}
	if !utf8.Valid(h) {
		return nil, nil, formatErr("header is not valid UTF-8")
	}
	p := &headerParser{dec: json.NewDecoder(bytes.NewReader(h))}
	p.dec.UseNumber()
	if err := p.delim('{', "start"); err != nil {
		return nil, nil, err
	}
	meta := map[string]string{}
	var entries []entry
	seen := map[string]bool{}
	for p.dec.More() {
		k, err := p.key("top level")
		if err != nil {
			return nil, nil, err
		}
		if seen[k] {
			return nil, nil, formatErr("header has key %q twice", k)
		}
		seen[k] = true
		if k == metadataKey {
			if err := p.metadata(meta); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := p.entry(k)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := p.delim('}', "end"); err != nil {
		return nil, nil, err
	}
	for i, c := range h[p.dec.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return nil, nil, formatErr("header has byte %q after its JSON object (at byte %d); only space padding may follow", c, p.dec.InputOffset()+int64(i))
		}
	}
	return meta, entries, nil
}

func (p *headerParser) metadata(meta map[string]string) error {
	t, err := p.token(metadataKey)
	if err != nil {
		return err
	}
	if t == nil {
		return nil // "__metadata__": null is accepted as no metadata, like the reference
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return formatErr("header %s must be an object of strings, found %s", metadataKey, describe(t))
	}
	for p.dec.More() {
		k, err := p.key(metadataKey)
		if err != nil {
			return err
		}
		if _, dup := meta[k]; dup {
			return formatErr("header %s has key %q twice", metadataKey, k)
		}
		t, err := p.token(fmt.Sprintf("%s %q", metadataKey, k))
		if err != nil {
			return err
		}
		v, ok := t.(string)
		if !ok {
			return formatErr("header %s %q: value must be a string, found %s", metadataKey, k, describe(t))
		}
		meta[k] = v
	}
	return p.delim('}', metadataKey)
}

func (p *headerParser) entry(name string) (entry, error) {
	e := entry{name: name}
	where := fmt.Sprintf("tensor %q", name)
	if err := p.delim('{', where); err != nil {
		return e, err
	}
	var hasDType, hasShape, hasOffsets bool
	for p.dec.More() {
		k, err := p.key(where)
		if err != nil {
			return e, err
		}
		field := where + " " + k
		switch k {
		case "dtype":
			if hasDType {
				return e, formatErr("header %s has field %q twice", where, k)
			}
			hasDType = true
			t, err := p.token(field)
			if err != nil {
				return e, err
			}
			s, ok := t.(string)
			if !ok {
				return e, formatErr("header %s: expected a string, found %s", field, describe(t))
			}
			if !DType(s).Valid() {
				return e, formatErr("%s: unknown or unsupported dtype %q", where, s)
			}
			e.t.DType = DType(s)
		case "shape":
			if hasShape {
				return e, formatErr("header %s has field %q twice", where, k)
			}
			hasShape = true
			if err := p.delim('[', field); err != nil {
				return e, err
			}
			e.t.Shape = []int{}
			for p.dec.More() {
				d, err := p.uint(field)
				if err != nil {
					return e, err
				}
				if d > math.MaxInt {
					return e, formatErr("%s: dimension %d is too large", where, d)
				}
				e.t.Shape = append(e.t.Shape, int(d))
			}
			if err := p.delim(']', field); err != nil {
				return e, err
			}
		case "data_offsets":
			if hasOffsets {
				return e, formatErr("header %s has field %q twice", where, k)
			}
			hasOffsets = true
			if err := p.delim('[', field); err != nil {
				return e, err
			}
			if e.begin, err = p.uint(field + " begin"); err != nil {
				return e, err
			}
			if e.end, err = p.uint(field + " end"); err != nil {
				return e, err
			}
			if e.end > math.MaxInt64 {
				return e, formatErr("%s: data_offsets end %d is too large", where, e.end)
			}
			if err := p.delim(']', field+" (exactly two offsets)"); err != nil {
				return e, err
			}
		default:
			return e, formatErr("%s has unknown field %q", where, k)
		}
	}
	if err := p.delim('}', where); err != nil {
		return e, err
	}
	switch {
	case !hasDType:
		return e, formatErr("%s has no dtype", where)
	case !hasShape:
		return e, formatErr("%s has no shape", where)
	case !hasOffsets:
		return e, formatErr("%s has no data_offsets", where)
	}
	return e, nil
}

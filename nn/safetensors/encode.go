package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// headerAlign is the alignment of the byte buffer; the header is padded with
// spaces to reach it.
const headerAlign = 8

type placed struct {
	name       string
	t          Tensor
	begin, end int
}

// layout checks f and orders its tensors as the reference writer does:
// by dtype alignment descending, then by name.
func layout(f *File) ([]placed, error) {
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: metadata %q is not valid UTF-8", ErrFormat, k)
		}
	}
	ps := make([]placed, 0, len(f.Tensors))
	for name, t := range f.Tensors {
		if err := checkName(name); err != nil {
			return nil, err
		}
		if err := t.check(); err != nil {
			return nil, formatErr("tensor %q: %v", name, err)
		}
		ps = append(ps, placed{name: name, t: t})
	}
	sort.Slice(ps, func(i, j int) bool {
		ri, rj := dtypeInfo[ps[i].t.DType].rank, dtypeInfo[ps[j].t.DType].rank
		if ri != rj {
			return ri > rj
		}
		return ps[i].name < ps[j].name
	})
	off := 0
	for i := range ps {
		ps[i].begin = off
		off += len(ps[i].t.Data)
		ps[i].end = off
	}
	return ps, nil
}

// jsonString appends s as a JSON string without HTML escaping.
func jsonString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a valid UTF-8 string always encodes
	buf.Truncate(buf.Len() - 1) // drop the newline Encode adds
}

// header builds the padded JSON header.
func header(f *File, ps []placed) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	if len(f.Metadata) > 0 {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			jsonString(&b, k)
			b.WriteByte(':')
			jsonString(&b, f.Metadata[k])
		}
		b.WriteByte('}')
		first = false
	}
	for _, p := range ps {
		if !first {
			b.WriteByte(',')
		}
		first = false
		jsonString(&b, p.name)
		b.WriteString(`:{"dtype":"` + string(p.t.DType) + `","shape":[`)
		for i, d := range p.t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteString(`],"data_offsets":[` + strconv.Itoa(p.begin) + "," + strconv.Itoa(p.end) + "]}")
	}
	b.WriteByte('}')
	for b.Len()%headerAlign != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// Encode writes f to w as plain safetensors bytes. Nothing is written if f is
// inconsistent (bad name, unknown dtype, data length not matching the shape).
func Encode(w io.Writer, f *File) error {
	ps, err := layout(f)
	if err != nil {
		return err
	}
	h := header(f, ps)
	bw := bufio.NewWriterSize(w, 1<<16)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	bw.Write(n[:])
	bw.Write(h)
	for _, p := range ps {
		bw.Write(p.t.Data) // bufio keeps the first error; Flush reports it
	}
	return bw.Flush()
}

// EncodeZstd writes f to w as one zstd stream of its safetensors bytes
// (`zstd -d` yields exactly what [Encode] writes). It uses klauspost's
// SpeedBetterCompression level with an 8 MiB window: on float32 weights
// (random mantissas) that saves about 7-8%, about what `zstd -3` does, where
// the default level stores such data uncompressed.
func EncodeZstd(w io.Writer, f *File) error {
	if _, err := layout(f); err != nil { // fail before writing anything
		return err
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	if err != nil {
		return err
	}
	if err := Encode(zw, f); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

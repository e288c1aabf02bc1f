package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"unicode/utf8"
)

var (
	// ErrFormat is wrapped by every error about malformed input: bad header,
	// bad offsets, truncation, trailing bytes, corrupt zstd data, and tensors
	// that are inconsistent when writing.
	ErrFormat = errors.New("invalid safetensors data")
	// ErrTooLarge is wrapped by errors for input beyond a [Limits] cap.
	ErrTooLarge = errors.New("safetensors data over limit")
)

// metadataKey is the reserved header key holding string metadata.
const metadataKey = "__metadata__"

// Tensor is one named entry: raw little-endian, row-major (C order) bytes.
// Shape [] is a scalar (one element); a zero dimension is an empty tensor.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// File is the content of a safetensors file. Both maps may be nil when
// writing; [Decode] always returns non-nil maps. Tensors returned by Decode
// share one backing buffer (each Data has its capacity capped to its length).
type File struct {
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NumElements is the product of the shape (1 for a scalar), or -1 if it
// overflows int or a dimension is negative.
func (t Tensor) NumElements() int {
	n := uint64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return -1
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return -1
		}
		n = lo
	}
	return int(n)
}

// byteSize returns the number of bytes t's dtype and shape need, or an error.
func (t Tensor) byteSize() (int, error) {
	size := t.DType.Size()
	if size == 0 {
		return 0, fmt.Errorf("unknown dtype %q", string(t.DType))
	}
	n := t.NumElements()
	if n < 0 {
		return 0, fmt.Errorf("shape %v has a negative dimension or too many elements", t.Shape)
	}
	hi, lo := bits.Mul64(uint64(n), uint64(size))
	if hi != 0 || lo > math.MaxInt {
		return 0, fmt.Errorf("%s shape %v has too many bytes", t.DType, t.Shape)
	}
	return int(lo), nil
}

// check verifies dtype, shape and data length agree. Its errors name neither
// the tensor nor ErrFormat; callers add both.
func (t Tensor) check() error {
	n, err := t.byteSize()
	if err != nil {
		return err
	}
	if len(t.Data) != n {
		return fmt.Errorf("%s shape %v needs %d bytes, data has %d", t.DType, t.Shape, n, len(t.Data))
	}
	return nil
}

func checkName(name string) error {
	if name == metadataKey {
		return fmt.Errorf("%w: tensor name %q is reserved", ErrFormat, name)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: tensor name %q is not valid UTF-8", ErrFormat, name)
	}
	return nil
}

// Add stores a raw tensor after checking its name, dtype and size. Adding a
// name twice is an error. The data is not copied.
func (f *File) Add(name string, t Tensor) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, dup := f.Tensors[name]; dup {
		return fmt.Errorf("safetensors: tensor %q added twice", name)
	}
	if err := t.check(); err != nil {
		return formatErr("tensor %q: %v", name, err)
	}
	if f.Tensors == nil {
		f.Tensors = make(map[string]Tensor)
	}
	t.Shape = append([]int{}, t.Shape...)
	f.Tensors[name] = t
	return nil
}

// AddFloat32 stores v with the given shape as F32, F16 or BF16 (rounded to
// nearest even; see the package doc for the error bounds).
func (f *File) AddFloat32(name string, shape []int, v []float32, storage DType) error {
	var data []byte
	switch storage {
	case F32:
		data = make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
		}
	case F16, BF16:
		conv := f32ToF16
		if storage == BF16 {
			conv = f32ToBF16
		}
		data = make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(data[2*i:], conv(x))
		}
	default:
		return fmt.Errorf("safetensors: tensor %q: float32 values can be stored as F32, F16 or BF16, not %q", name, string(storage))
	}
	return f.Add(name, Tensor{DType: storage, Shape: shape, Data: data})
}

// AddInt32 stores v with the given shape as I32.
func (f *File) AddInt32(name string, shape []int, v []int32) error {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(x))
	}
	return f.Add(name, Tensor{DType: I32, Shape: shape, Data: data})
}

// AddInt64 stores v with the given shape as I64.
func (f *File) AddInt64(name string, shape []int, v []int64) error {
	data := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(data[8*i:], uint64(x))
	}
	return f.Add(name, Tensor{DType: I64, Shape: shape, Data: data})
}

// Float32 decodes an F32, F16 or BF16 tensor (exactly) to float32.
func (t Tensor) Float32() ([]float32, error) {
	if err := t.check(); err != nil {
		return nil, formatErr("%v", err)
	}
	switch t.DType {
	case F32:
		out := make([]float32, len(t.Data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, nil
	case F16, BF16:
		conv := f16ToF32
		if t.DType == BF16 {
			conv = bf16ToF32
		}
		out := make([]float32, len(t.Data)/2)
		for i := range out {
			out[i] = conv(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("safetensors: Float32 reads F32, F16 or BF16 tensors, not %s", t.DType)
}

// Int32 decodes an I32 tensor.
func (t Tensor) Int32() ([]int32, error) {
	if t.DType != I32 {
		return nil, fmt.Errorf("safetensors: Int32 reads I32 tensors, not %s", t.DType)
	}
	if err := t.check(); err != nil {
		return nil, formatErr("%v", err)
	}
	out := make([]int32, len(t.Data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Int64 decodes an I64 tensor.
func (t Tensor) Int64() ([]int64, error) {
	if t.DType != I64 {
		return nil, fmt.Errorf("safetensors: Int64 reads I64 tensors, not %s", t.DType)
	}
	if err := t.check(); err != nil {
		return nil, formatErr("%v", err)
	}
	out := make([]int64, len(t.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

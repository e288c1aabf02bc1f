package tensor

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"unsafe"
)

// MaxRank is the largest number of dimensions a tensor may have.
const MaxRank = 8

// storage is a buffer shared by a tensor and its views.
type storage struct {
	buf  *Buffer
	dev  Device
	refs atomic.Int32
}

// Tensor is an n-dimensional array of one dtype on one device, possibly a
// strided view of another tensor's storage, with an optional place in an
// autograd graph.
//
// A Tensor's values never change after the op that made it returns, except
// through the explicit in-place methods (CopyFrom, AddInPlace, ZeroGrad and
// the optimizers' updates), so tensors may be read from several goroutines
// at once; recording gradients (Backward, Grad) is not safe concurrently on
// one graph.
type Tensor struct {
	st      *storage
	dtype   DType
	rank    int
	shape   [MaxRank]int
	strides [MaxRank]int // in elements
	offset  int          // in elements

	requiresGrad bool
	grad         *Tensor
	gradZero     bool // grad's values are zero but not yet written (ZeroGrad)
	node         *node
}

// DType is the tensor's element type.
func (t *Tensor) DType() DType { return t.dtype }

// Device is the device holding the tensor.
func (t *Tensor) Device() Device { return t.live().dev }

// Shape is the tensor's shape (do not modify it).
func (t *Tensor) Shape() []int { return t.shape[:t.rank] }

// Strides are the tensor's strides in elements (do not modify them).
func (t *Tensor) Strides() []int { return t.strides[:t.rank] }

// Offset is the index of the first element in the tensor's storage.
func (t *Tensor) Offset() int { return t.offset }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return t.rank }

// Dim is the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int { return t.shape[t.axis("Dim", i)] }

// Len is the number of elements.
func (t *Tensor) Len() int { return numel(t.Shape()) }

// Buffer is the device buffer holding the tensor's storage (for kernels).
func (t *Tensor) Buffer() *Buffer { return t.live().buf }

// RequiresGrad reports whether gradients flow to or through t.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

func (t *Tensor) live() *storage {
	if t.st == nil {
		panic("tensor: use of a released tensor")
	}
	return t.st
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

func shapeString(shape []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range shape {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, s)
	}
	b.WriteByte(']')
	return b.String()
}

// String describes the tensor (not its values), e.g. "float32[2 3]@cpu".
func (t *Tensor) String() string {
	if t.st == nil {
		return fmt.Sprintf("%v%s (released)", t.dtype, shapeString(t.Shape()))
	}
	return fmt.Sprintf("%v%s@%s", t.dtype, shapeString(t.Shape()), t.st.dev.Name())
}

// IsContiguous reports whether t's elements are densely laid out in
// row-major order.
func (t *Tensor) IsContiguous() bool {
	want := 1
	for i := t.rank - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != want {
			return false
		}
		want *= t.shape[i]
	}
	return true
}

// axis normalises a possibly negative axis, panicking with op's name.
func (t *Tensor) axis(op string, a int) int {
	if a < 0 {
		a += t.rank
	}
	if a < 0 || a >= t.rank {
		panic(fmt.Sprintf("tensor.%s: axis %d out of range for shape %v", op, a, t.Shape()))
	}
	return a
}

func checkShape(op string, shape []int) {
	if len(shape) > MaxRank {
		panic(fmt.Sprintf("tensor.%s: rank %d exceeds MaxRank %d", op, len(shape), MaxRank))
	}
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("tensor.%s: negative dimension in shape %v", op, shape))
		}
	}
}

// Empty returns a new contiguous tensor with unspecified contents.
func Empty(d Device, dt DType, shape ...int) *Tensor {
	checkShape("Empty", shape)
	n := numel(shape)
	buf, err := d.Allocator().Get(max(n*dt.Size(), 1))
	if err != nil {
		panic(fmt.Sprintf("tensor.Empty: %v%v on %s: %v", dt, shape, d.Name(), err))
	}
	t := &Tensor{st: &storage{buf: buf, dev: d}, dtype: dt, rank: len(shape)}
	t.st.refs.Store(1)
	copy(t.shape[:], shape)
	t.setContiguousStrides()
	return t
}

func (t *Tensor) setContiguousStrides() {
	s := 1
	for i := t.rank - 1; i >= 0; i-- {
		t.strides[i] = s
		s *= t.shape[i]
	}
}

// emptyLike is a contiguous float32 tensor of shape on t's device.
func emptyOn(d Device, shape []int) *Tensor { return Empty(d, Float32, shape...) }

// Full returns a float32 tensor filled with v.
func Full(d Device, v float32, shape ...int) *Tensor {
	t := Empty(d, Float32, shape...)
	FillKernel.Run(d, FillParams{Out: t.view(), N: t.Len(), Value: math.Float32bits(v)})
	return t
}

// Zeros returns a float32 tensor of zeros.
func Zeros(d Device, shape ...int) *Tensor { return Full(d, 0, shape...) }

// Ones returns a float32 tensor of ones.
func Ones(d Device, shape ...int) *Tensor { return Full(d, 1, shape...) }

// ZerosLike returns zeros of t's shape on t's device.
func ZerosLike(t *Tensor) *Tensor { return Zeros(t.Device(), t.Shape()...) }

// Scalar returns a rank-0 float32 tensor.
func Scalar(d Device, v float32) *Tensor { return Full(d, v) }

// FromFloat32 copies data into a new float32 tensor of the given shape (a
// flat vector when shape is omitted).
func FromFloat32(d Device, data []float32, shape ...int) *Tensor {
	if shape == nil {
		shape = []int{len(data)}
	}
	checkShape("FromFloat32", shape)
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor.FromFloat32: %d values do not fill shape %v", len(data), shape))
	}
	t := Empty(d, Float32, shape...)
	t.CopyFrom(data)
	return t
}

// FromInt32 copies data into a new int32 tensor (indices, labels, token ids).
func FromInt32(d Device, data []int32, shape ...int) *Tensor {
	if shape == nil {
		shape = []int{len(data)}
	}
	checkShape("FromInt32", shape)
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor.FromInt32: %d values do not fill shape %v", len(data), shape))
	}
	t := Empty(d, Int32, shape...)
	copy(t.hostInt32(true), data)
	return t
}

// Arange returns the float32 vector start, start+step, … below stop.
func Arange(d Device, start, stop, step float32) *Tensor {
	if step == 0 || math.IsNaN(float64(start+stop+step)) {
		panic(fmt.Sprintf("tensor.Arange: invalid range start=%v stop=%v step=%v", start, stop, step))
	}
	n := max(int(math.Ceil(float64((stop-start)/step))), 0)
	v := make([]float32, n)
	for i := range v {
		v[i] = start + float32(i)*step
	}
	return FromFloat32(d, v, n)
}

// hostFloat32 returns the host view of a contiguous float32 tensor's
// elements, waiting for queued work first.
func (t *Tensor) hostFloat32(write bool) []float32 {
	st := t.live()
	mem := st.dev.HostBytes(st.buf, write)
	n := t.Len()
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&mem[t.offset*4])), n)
}

func (t *Tensor) hostInt32(write bool) []int32 {
	st := t.live()
	mem := st.dev.HostBytes(st.buf, write)
	n := t.Len()
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&mem[t.offset*4])), n)
}

// Float32s copies the float32 tensor's values to a new slice in row-major
// order, waiting for any queued device work.
func (t *Tensor) Float32s() []float32 {
	t.mustDType("Float32s", Float32)
	c, owned := dense(t)
	out := append([]float32(nil), c.hostFloat32(false)...)
	if owned {
		c.Release()
	}
	return out
}

// Int32s copies the int32 tensor's values to a new slice.
func (t *Tensor) Int32s() []int32 {
	t.mustDType("Int32s", Int32)
	c, owned := dense(t)
	out := append([]int32(nil), c.hostInt32(false)...)
	if owned {
		c.Release()
	}
	return out
}

// Item returns the value of a one-element float32 tensor.
func (t *Tensor) Item() float32 {
	if t.Len() != 1 {
		panic(fmt.Sprintf("tensor.Item: tensor of shape %v has %d elements, want 1", t.Shape(), t.Len()))
	}
	return t.Float32s()[0]
}

// CopyFrom overwrites a contiguous float32 tensor with data, waiting for
// queued work that uses it first.
func (t *Tensor) CopyFrom(data []float32) {
	t.mustDType("CopyFrom", Float32)
	if !t.IsContiguous() || len(data) != t.Len() {
		panic(fmt.Sprintf("tensor.CopyFrom: %d values into %v (contiguous=%v)", len(data), t, t.IsContiguous()))
	}
	copy(t.hostFloat32(true), data)
}

func (t *Tensor) mustDType(op string, dt DType) {
	if t.dtype != dt {
		panic(fmt.Sprintf("tensor.%s: want %v, have %v", op, dt, t))
	}
}

// Release returns t's storage to its device's allocator once no other view
// shares it. t must not be used afterwards. Releasing is optional (the
// garbage collector reclaims what is not released) but lets a training loop
// reuse memory instead of allocating: see ReleaseGraph.
func (t *Tensor) Release() {
	st := t.st
	if st == nil {
		return
	}
	t.st = nil
	t.node = nil
	if st.refs.Add(-1) == 0 {
		st.dev.Allocator().Put(st.buf)
		st.buf = nil
	}
}

// share returns a new tensor header over t's storage (a view).
func (t *Tensor) share() *Tensor {
	st := t.live()
	st.refs.Add(1)
	v := &Tensor{st: st, dtype: t.dtype, rank: t.rank, shape: t.shape, strides: t.strides, offset: t.offset}
	return v
}

// View is a kernel argument: a buffer and an element offset into it.
type View struct {
	Buf *Buffer
	Off int // in elements
}

// Layout is a strided kernel argument: where each element of a (possibly
// broadcast, transposed or sliced) tensor lives.
type Layout struct {
	Buf     *Buffer
	Off     int
	Rank    int
	Shape   [MaxRank]int
	Strides [MaxRank]int // 0 on broadcast dimensions
}

// Contiguous reports whether l is dense row-major.
func (l *Layout) Contiguous() bool {
	want := 1
	for i := l.Rank - 1; i >= 0; i-- {
		if l.Shape[i] != 1 && l.Strides[i] != want {
			return false
		}
		want *= l.Shape[i]
	}
	return true
}

// Index returns the storage index of the i-th element in row-major order.
func (l *Layout) Index(i int) int {
	off := l.Off
	for d := l.Rank - 1; d >= 0; d-- {
		s := l.Shape[d]
		off += (i % s) * l.Strides[d]
		i /= s
	}
	return off
}

func (t *Tensor) view() View { return View{Buf: t.live().buf, Off: t.offset} }

func (t *Tensor) layout() Layout {
	return Layout{Buf: t.live().buf, Off: t.offset, Rank: t.rank, Shape: t.shape, Strides: t.strides}
}

// layoutAs is t's layout broadcast to shape (NumPy rules, already checked).
func (t *Tensor) layoutAs(shape []int) Layout {
	l := Layout{Buf: t.live().buf, Off: t.offset, Rank: len(shape)}
	copy(l.Shape[:], shape)
	lead := len(shape) - t.rank
	for i := t.rank - 1; i >= 0; i-- {
		if t.shape[i] != 1 || shape[lead+i] == 1 {
			l.Strides[lead+i] = t.strides[i]
		}
	}
	return l
}

func sameDevice(op string, ts ...*Tensor) Device {
	d := ts[0].live().dev
	for _, t := range ts[1:] {
		if t.live().dev != d {
			var parts []string
			for _, u := range ts {
				parts = append(parts, u.String())
			}
			panic(fmt.Sprintf("tensor.%s: operands on different devices: %s", op, strings.Join(parts, ", ")))
		}
	}
	return d
}

// To copies t to device d (t itself when it is already there). The copy is
// a leaf: no gradient flows back to t.
func (t *Tensor) To(d Device) *Tensor {
	if t.Device() == d {
		return t
	}
	switch t.dtype {
	case Int32:
		return FromInt32(d, t.Int32s(), t.Shape()...)
	default:
		out := Empty(d, t.dtype, t.Shape()...)
		copy(out.hostFloat32(true), t.Float32s())
		return out
	}
}

package tensor_test

import (
	"math"
	"sync"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var cpu = tensor.CPU()

// Random123's known-answer vectors for Philox4x32-10.
func TestPhiloxKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		seed, stream, block uint64
		want                [4]uint32
	}{
		{0, 0, 0, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{math.MaxUint64, math.MaxUint64, math.MaxUint64, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{0x299f31d0_a4093822, 0x03707344_13198a2e, 0x85a308d3_243f6a88, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		assert.Equal(t, c.want, tensor.Philox(c.seed, c.stream, c.block))
	}
}

func TestPanicMessages(t *testing.T) {
	a := tensor.Zeros(cpu, 2, 3)
	b := tensor.Zeros(cpu, 4)
	for _, c := range []struct {
		msg string
		fn  func()
	}{
		{"tensor.Add: shapes [2 3] and [4] do not broadcast", func() { tensor.Add(a, b) }},
		{"tensor.MatMul: shapes [2 3] and [2 3] do not multiply", func() { tensor.MatMul(a, a) }},
		{"tensor.Reshape: shape [4 2] has 8 elements, float32[2 3]@cpu has 6", func() { a.Reshape(4, 2) }},
		{"tensor.Slice: range [1, 5) out of bounds for axis 1 of shape [2 3]", func() { a.Slice(1, 1, 5) }},
		{"tensor.Sum: axis 2 out of range for shape [2 3]", func() { tensor.Sum(a, false, 2) }},
		{"tensor.Gather: index 7 at position 1 out of range [0, 2)", func() {
			tensor.Gather(a, tensor.FromInt32(cpu, []int32{0, 7}))
		}},
		{"tensor.Add: operands on different devices: float32[2 3]@cpu, float32[2 3]@fake", func() {
			tensor.Add(a, tensor.Zeros(fakeDevice(), 2, 3))
		}},
		{"tensor.FromFloat32: 3 values do not fill shape [2 2]", func() { tensor.FromFloat32(cpu, []float32{1, 2, 3}, 2, 2) }},
		{"tensor.Item: tensor of shape [2 3] has 6 elements, want 1", func() { a.Item() }},
		{"tensor: use of a released tensor", func() { c := tensor.Ones(cpu, 2); c.Release(); c.Float32s() }},
	} {
		assert.PanicsWithValue(t, c.msg, c.fn)
	}
}

// fake is a second device (a CPU clone under another name) to test device
// mixing.
type fake struct{ tensor.Device }

func (fake) Name() string { return "fake" }

var fakeOnce = sync.OnceValue(func() tensor.Device {
	f := &fake{}
	f.Device = tensor.CPU()
	return f
})

func fakeDevice() tensor.Device { return fakeOnce() }

func TestAutogradAccumulatesAndZeroes(t *testing.T) {
	x := tensor.FromFloat32(cpu, []float32{1, 2, 3}).SetRequiresGrad(true)
	for range 2 {
		y := tensor.Sum(tensor.Mul(x, x), false) // d/dx = 2x
		y.Backward()
		y.ReleaseGraph()
	}
	assert.Equal(t, []float32{4, 8, 12}, x.Grad().Float32s())
	x.ZeroGrad()
	assert.Equal(t, []float32{0, 0, 0}, x.Grad().Float32s())
	// A value used twice gets both contributions.
	y := tensor.Sum(tensor.Add(tensor.Mul(x, x), x), false)
	y.Backward()
	assert.Equal(t, []float32{3, 5, 7}, x.Grad().Float32s())
}

func TestDetachStopsGradients(t *testing.T) {
	x := tensor.FromFloat32(cpu, []float32{1, 2}).SetRequiresGrad(true)
	d := x.Detach()
	require.False(t, d.RequiresGrad())
	y := tensor.Mul(d, d)
	require.False(t, y.RequiresGrad())
	z := tensor.Sum(tensor.Mul(x, d), false)
	z.Backward()
	assert.Equal(t, []float32{1, 2}, x.Grad().Float32s())
}

// Inference in one goroutine must never switch off recording in another.
func TestConcurrentInferenceAndTraining(t *testing.T) {
	w := tensor.FromFloat32(cpu, []float32{0.5, -1, 2, 0.25}, 2, 2).SetRequiresGrad(true)
	frozen := w.Detach()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			x := tensor.Ones(cpu, 3, 2)
			y := tensor.MatMul(x, frozen)
			if y.RequiresGrad() {
				panic("inference recorded a graph")
			}
			y.Release()
		}
	}()
	for range 200 {
		x := tensor.Ones(cpu, 3, 2)
		y := tensor.Sum(tensor.MatMul(x, w), false)
		require.True(t, y.RequiresGrad())
		y.Backward()
		y.ReleaseGraph()
	}
	wg.Wait()
	// d/dw Σ(1·w) over 3 rows is 3 per element, 200 times.
	for _, g := range w.Grad().Float32s() {
		require.Equal(t, float32(600), g)
	}
}

func TestAllocatorReusesBuffers(t *testing.T) {
	a := tensor.NewAllocator(func(n int) (*tensor.Buffer, error) { return &tensor.Buffer{Mem: make([]byte, n)}, nil })
	b1, err := a.Get(1000)
	require.NoError(t, err)
	require.Equal(t, 1024, len(b1.Mem))
	a.Put(b1)
	b2, _ := a.Get(900) // same class
	require.Same(t, b1, b2)
	s := a.Stats()
	assert.Equal(t, int64(2), s.Gets)
	assert.Equal(t, int64(1), s.Fresh)
	assert.Equal(t, int64(1024), s.InUse)
	for _, c := range []struct{ n, class int }{{1, 256}, {256, 256}, {257, 320}, {1 << 20, 1 << 20}, {1<<20 + 1, 1<<20 + 1<<18}} {
		assert.Equal(t, c.class, tensor.SizeClass(c.n), "class of %d", c.n)
	}
}

func TestReleaseGraphReturnsMemory(t *testing.T) {
	w := tensor.NewRNG(1).Normal(cpu, 0, 1, 64, 64).SetRequiresGrad(true)
	step := func() {
		x := tensor.Ones(cpu, 32, 64)
		y := tensor.Sum(tensor.Tanh(tensor.MatMul(x, w)), false)
		y.Backward()
		y.ReleaseGraph()
		x.Release()
	}
	step() // the first two steps fill the free lists (the first one's
	step() // gradient becomes the leaf's own)
	before := cpu.Allocator().Stats()
	for range 5 {
		step()
	}
	after := cpu.Allocator().Stats()
	assert.Equal(t, before.Fresh, after.Fresh, "steady-state steps must not allocate new buffers")
	assert.Equal(t, before.InUse, after.InUse, "every buffer of a step returns to the allocator")
}

func TestAssignCopiesInPlace(t *testing.T) {
	p := tensor.Zeros(cpu, 2, 3).SetRequiresGrad(true)
	src := tensor.FromFloat32(cpu, []float32{1, 2, 3, 4, 5, 6}, 3, 2).T() // strided source
	p.Assign(src)
	assert.Equal(t, []float32{1, 3, 5, 2, 4, 6}, p.Float32s())
	assert.True(t, p.RequiresGrad(), "still the same leaf")
	assert.Panics(t, func() { p.Assign(tensor.Zeros(cpu, 3, 2)) })
}

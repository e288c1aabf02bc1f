package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refConv2d is a direct float64 convolution (PyTorch's definition).
func refConv2d(x, w, b []float64, n, c, h, wd int, cfg ConvConfig) ([]float64, int, int) {
	cfg = cfg.normalized("ref", false)
	kh, kw := cfg.Kernel[0], cfg.Kernel[1]
	oh := (h+2*cfg.Padding[0]-cfg.Dilation[0]*(kh-1)-1)/cfg.Stride[0] + 1
	ow := (wd+2*cfg.Padding[1]-cfg.Dilation[1]*(kw-1)-1)/cfg.Stride[1] + 1
	o := cfg.Out
	y := make([]float64, n*o*oh*ow)
	for ni := range n {
		for oi := range o {
			for yi := range oh {
				for xi := range ow {
					s := 0.0
					if b != nil {
						s = b[oi]
					}
					for ci := range c {
						for a := range kh {
							for bb := range kw {
								ih := yi*cfg.Stride[0] - cfg.Padding[0] + a*cfg.Dilation[0]
								iw := xi*cfg.Stride[1] - cfg.Padding[1] + bb*cfg.Dilation[1]
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								s += x[((ni*c+ci)*h+ih)*wd+iw] * w[((oi*c+ci)*kh+a)*kw+bb]
							}
						}
					}
					y[((ni*o+oi)*oh+yi)*ow+xi] = s
				}
			}
		}
	}
	return y, oh, ow
}

// refConvT2d is a direct float64 transposed convolution: every input pixel
// scatters weight·value into the output (PyTorch's definition).
func refConvT2d(x, w, b []float64, n, c, h, wd int, cfg ConvConfig) ([]float64, int, int) {
	cfg = cfg.normalized("ref", true)
	kh, kw := cfg.Kernel[0], cfg.Kernel[1]
	oh := (h-1)*cfg.Stride[0] - 2*cfg.Padding[0] + cfg.Dilation[0]*(kh-1) + cfg.OutputPadding[0] + 1
	ow := (wd-1)*cfg.Stride[1] - 2*cfg.Padding[1] + cfg.Dilation[1]*(kw-1) + cfg.OutputPadding[1] + 1
	o := cfg.Out
	y := make([]float64, n*o*oh*ow)
	for ni := range n {
		for oi := range o {
			for i := range oh * ow {
				if b != nil {
					y[(ni*o+oi)*oh*ow+i] = b[oi]
				}
			}
		}
		for ci := range c {
			for yi := range h {
				for xi := range wd {
					v := x[((ni*c+ci)*h+yi)*wd+xi]
					for oi := range o {
						for a := range kh {
							for bb := range kw {
								ty := yi*cfg.Stride[0] - cfg.Padding[0] + a*cfg.Dilation[0]
								tx := xi*cfg.Stride[1] - cfg.Padding[1] + bb*cfg.Dilation[1]
								if ty < 0 || ty >= oh || tx < 0 || tx >= ow {
									continue
								}
								y[((ni*o+oi)*oh+ty)*ow+tx] += v * w[((ci*o+oi)*kh+a)*kw+bb]
							}
						}
					}
				}
			}
		}
	}
	return y, oh, ow
}

var convConfigs = []struct {
	name    string
	n, h, w int
	cfg     ConvConfig
}{
	{"k3", 2, 6, 5, ConvConfig{In: 2, Out: 3, Kernel: Sq(3)}},
	{"k4s2p1", 2, 8, 7, ConvConfig{In: 3, Out: 2, Kernel: Sq(4), Stride: Sq(2), Padding: Sq(1), OutputPadding: Size2{1, 0}}},
	{"rect", 1, 7, 9, ConvConfig{In: 2, Out: 2, Kernel: Size2{3, 2}, Stride: Size2{2, 1}, Padding: Size2{1, 2}, Dilation: Size2{1, 2}, OutputPadding: Size2{1, 0}}},
	{"1x1nobias", 3, 3, 4, ConvConfig{In: 4, Out: 3, Kernel: Sq(1), NoBias: true}},
	{"dil2s3", 1, 9, 8, ConvConfig{In: 1, Out: 2, Kernel: Sq(2), Stride: Sq(3), Padding: Sq(2), Dilation: Sq(2), OutputPadding: Sq(2)}},
}

// TestConv checks Conv2d and ConvTranspose2d forward against the direct
// float64 references and the gradients of input, weight and bias against
// their finite differences — on both paths: the im2col/col2im kernel path
// (input without gradients) and the recorded gather path (input requiring
// gradients). Tolerances: forward 2e-5 (float32 sums of ≤ 32 products of
// magnitude ≤ 2, accumulated by the GEMM), gradients 1e-4 abs + 1e-4 rel.
func TestConv(t *testing.T) {
	defer func(n int) { convChunkElems = n }(convChunkElems)
	for _, chunk := range []int{convChunkElems, 1} { // the whole batch at once, and one image per chunk
		convChunkElems = chunk
		for _, transposed := range []bool{false, true} {
			for _, tc := range convConfigs {
				for _, xGrad := range []bool{false, true} {
					name := fmt.Sprintf("chunk=%d/%s/transposed=%v/xgrad=%v", chunk, tc.name, transposed, xGrad)
					t.Run(name, func(t *testing.T) {
						r := rand.New(rand.NewPCG(5, uint64(len(name))))
						cfg := tc.cfg
						var layer Layer
						var w, b *Param
						if transposed {
							l := NewConvTranspose2d(cpu, tensor.NewRNG(9), cfg)
							layer, w, b = l, l.Weight, l.Bias
						} else {
							cfg.OutputPadding = Size2{}
							l := NewConv2d(cpu, tensor.NewRNG(9), cfg)
							layer, w, b = l, l.Weight, l.Bias
						}
						x32, x64 := randF(r, tc.n*cfg.In*tc.h*tc.w, -2, 2)
						x := tensor.FromFloat32(cpu, x32, tc.n, cfg.In, tc.h, tc.w).SetRequiresGrad(xGrad)
						vals := [][]float64{x64, f64(w.T.Float32s()), nil}
						if b != nil {
							vals[2] = f64(b.T.Float32s())
						}
						var oh, ow int
						ref := func(v [][]float64) []float64 {
							var y []float64
							if transposed {
								y, oh, ow = refConvT2d(v[0], v[1], v[2], tc.n, cfg.In, tc.h, tc.w, cfg)
							} else {
								y, oh, ow = refConv2d(v[0], v[1], v[2], tc.n, cfg.In, tc.h, tc.w, cfg)
							}
							return y
						}
						want := ref(vals)
						y := layer.Forward(x)
						require.Equal(t, []int{tc.n, cfg.Out, oh, ow}, y.Shape())
						assertClose(t, want, y.Float32s(), 2e-5, 2e-5, "y")
						_, gy := randF(r, len(want), -1, 1)
						backwardWith(y, gy)
						if xGrad {
							assertClose(t, fdGrad(ref, vals, gy, 0), x.Grad().Float32s(), 1e-4, 1e-4, "dx")
						} else {
							assert.Nil(t, x.Grad())
						}
						assertClose(t, fdGrad(ref, vals, gy, 1), w.T.Grad().Float32s(), 1e-4, 1e-4, "dW")
						if b != nil {
							assertClose(t, fdGrad(ref, vals, gy, 2), b.T.Grad().Float32s(), 1e-4, 1e-4, "db")
						}
					})
				}
			}
		}
	}
}

// TestConvInference checks the pure kernel paths (no input or weight
// gradients: nothing recorded) of both layers against the references, and
// that repeated inference reuses the allocator's buffers (no fresh device
// memory in steady state).
func TestConvInference(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, transposed := range []bool{false, true} {
		for _, tc := range convConfigs {
			t.Run(fmt.Sprintf("%s/transposed=%v", tc.name, transposed), func(t *testing.T) {
				cfg := tc.cfg
				var layer Layer
				var ref func(x, w, b []float64, n, c, h, wd int, cfg ConvConfig) ([]float64, int, int)
				if transposed {
					layer, ref = NewConvTranspose2d(cpu, tensor.NewRNG(3), cfg), refConvT2d
				} else {
					cfg.OutputPadding = Size2{}
					layer, ref = NewConv2d(cpu, tensor.NewRNG(3), cfg), refConv2d
				}
				vals := map[string][]float64{}
				for _, p := range layer.Params() {
					require.NoError(t, p.Set(p.T.Detach()))
					p.T.SetRequiresGrad(false)
					vals[p.Name] = f64(p.T.Float32s())
				}
				x32, x64 := randF(r, tc.n*cfg.In*tc.h*tc.w, -2, 2)
				x := tensor.FromFloat32(cpu, x32, tc.n, cfg.In, tc.h, tc.w)
				want, _, _ := ref(x64, vals["weight"], vals["bias"], tc.n, cfg.In, tc.h, tc.w, cfg)
				y := layer.Forward(x)
				require.False(t, y.RequiresGrad())
				assertClose(t, want, y.Float32s(), 2e-5, 2e-5, "y")
				y.Release()
				alloc := cpu.Allocator()
				for i := range 3 {
					fresh := alloc.Stats().Fresh
					layer.Forward(x).Release()
					if i > 0 {
						assert.Equal(t, fresh, alloc.Stats().Fresh, "steady-state inference allocates no new buffers")
					}
				}
			})
		}
	}
}

func TestConvConfigErrors(t *testing.T) {
	rng := tensor.NewRNG(1)
	assert.Panics(t, func() { NewConv2d(cpu, rng, ConvConfig{In: 1, Out: 1}) }) // no kernel
	assert.Panics(t, func() {
		NewConv2d(cpu, rng, ConvConfig{In: 1, Out: 1, Kernel: Sq(3), OutputPadding: Sq(1), Stride: Sq(2)})
	}) // not transposed
	assert.Panics(t, func() { NewConvTranspose2d(cpu, rng, ConvConfig{In: 1, Out: 1, Kernel: Sq(3), OutputPadding: Sq(1)}) }) // op ≥ stride
	c := NewConv2d(cpu, rng, ConvConfig{In: 2, Out: 1, Kernel: Sq(5)})
	assert.Panics(t, func() { c.Forward(tensor.Zeros(cpu, 1, 2, 4, 4)) }) // smaller than the kernel
	assert.Panics(t, func() { c.Forward(tensor.Zeros(cpu, 1, 3, 8, 8)) }) // wrong channels
}

// Benchmarks at DCGAN-on-MNIST sizes (batch 64): a training step's forward
// and backward through one layer, input requiring gradients.
func benchLayer(b *testing.B, l Layer, shape ...int) {
	x := tensor.NewRNG(1).Normal(cpu, 0, 1, shape...).SetRequiresGrad(true)
	b.ResetTimer()
	for range b.N {
		y := l.Forward(x)
		s := tensor.Sum(y, false)
		s.Backward()
		s.ReleaseGraph()
		x.ZeroGrad()
		ZeroGrad(l)
	}
}

func BenchmarkConv2dTrain(b *testing.B) {
	benchLayer(b, NewConv2d(cpu, tensor.NewRNG(1), ConvConfig{In: 64, Out: 128, Kernel: Sq(4), Stride: Sq(2), Padding: Sq(1)}), 64, 64, 14, 14)
}

func BenchmarkConvTranspose2dTrain(b *testing.B) {
	benchLayer(b, NewConvTranspose2d(cpu, tensor.NewRNG(1), ConvConfig{In: 128, Out: 64, Kernel: Sq(4), Stride: Sq(2), Padding: Sq(1)}), 64, 128, 7, 7)
}

func BenchmarkConv2dInference(b *testing.B) {
	l := NewConv2d(cpu, tensor.NewRNG(1), ConvConfig{In: 64, Out: 128, Kernel: Sq(4), Stride: Sq(2), Padding: Sq(1)})
	x := tensor.NewRNG(1).Normal(cpu, 0, 1, 64, 64, 14, 14)
	b.ResetTimer()
	for range b.N {
		l.Forward(x).ReleaseGraph()
	}
}

// TestConvTrainingSteadyState: a training step through a first-layer
// Conv2d (input without gradients), BatchNorm2d and a ConvTranspose2d
// returns every buffer to the allocator once the graph is released, so
// after a warm-up no step takes fresh device memory and the bytes in use
// stay constant.
func TestConvTrainingSteadyState(t *testing.T) {
	rng := tensor.NewRNG(1)
	m := NewSequential(
		NewConv2d(cpu, rng, ConvConfig{In: 1, Out: 4, Kernel: Sq(4), Stride: Sq(2), Padding: Sq(1)}),
		NewBatchNorm2d(cpu, 4),
		NewLeakyReLU(0.2),
		NewConvTranspose2d(cpu, rng, ConvConfig{In: 4, Out: 1, Kernel: Sq(4), Stride: Sq(2), Padding: Sq(1)}),
	)
	x := rng.Normal(cpu, 0, 1, 8, 1, 12, 12)
	alloc := cpu.Allocator()
	var inUse int64
	for i := range 5 {
		fresh := alloc.Stats().Fresh
		l := MSELoss(m.Forward(x), x, Mean)
		l.Backward()
		for _, p := range Trainable(m) {
			p.T.AddScaled(-0.01, p.T.Grad())
		}
		ZeroGrad(m)
		l.ReleaseGraph()
		st := alloc.Stats()
		if i >= 2 {
			assert.Equal(t, fresh, st.Fresh, "step %d took fresh buffers", i)
			assert.Equal(t, inUse, st.InUse, "step %d changed the bytes in use", i)
		}
		inUse = st.InUse
	}
}

// TestConvBackwardTwice: Conv2d saves only its input, so a second
// backward pass through the same forward pass adds the same gradient again;
// ConvTranspose2d frees its saved input copy in the first, as PyTorch
// without retain_graph, and says so in the second.
func TestConvBackwardTwice(t *testing.T) {
	c := NewConv2d(cpu, tensor.NewRNG(1), ConvConfig{In: 1, Out: 2, Kernel: Sq(3)})
	y := tensor.Sum(c.Forward(tensor.Ones(cpu, 1, 1, 4, 4)), false)
	y.Backward()
	once := c.Weight.T.Grad().Float32s()
	y.Backward()
	twice := c.Weight.T.Grad().Float32s()
	for i := range once {
		assert.InDelta(t, 2*once[i], twice[i], 1e-5)
	}

	ct := NewConvTranspose2d(cpu, tensor.NewRNG(1), ConvConfig{In: 1, Out: 2, Kernel: Sq(3)})
	y = tensor.Sum(ct.Forward(tensor.Ones(cpu, 1, 1, 4, 4)), false)
	y.Backward()
	assert.PanicsWithValue(t, "nn.ConvTranspose2d: backward through the same forward pass twice (its saved input was freed)", func() { y.Backward() })
}

// TestConvEmptyBatch: an empty batch gives an empty output and zero weight
// gradients.
func TestConvEmptyBatch(t *testing.T) {
	cfg := ConvConfig{In: 2, Out: 3, Kernel: Sq(3), Padding: Sq(1)}
	for _, l := range []Layer{NewConv2d(cpu, tensor.NewRNG(1), cfg), NewConvTranspose2d(cpu, tensor.NewRNG(1), cfg)} {
		x := tensor.Zeros(cpu, 0, 2, 4, 4).SetRequiresGrad(true)
		y := l.Forward(x)
		assert.Equal(t, []int{0, 3, 4, 4}, y.Shape())
		tensor.Sum(y, false).Backward()
		for _, p := range Trainable(l) {
			for _, v := range p.T.Grad().Float32s() {
				require.Zero(t, v, "%T %s", l, p.Name)
			}
		}
	}
}

package nn

import (
	"fmt"
	"math"

	"github.com/ingotml/ingot/tensor"
)

// Initialisers. Every random initialiser takes a *tensor.RNG, so a seed
// gives the same weights on every device (the counter-based generator is
// device-independent).
//
// PyTorch 1.13's defaults, which the layer constructors reproduce in
// distribution (not bit for bit: PyTorch draws from its own generator):
//
//   - Linear, Conv2d, ConvTranspose2d weight: kaiming_uniform_(a=√5). With
//     gain = √(2/(1+a²)) = √(1/3) and bound = gain·√(3/fan_in), that is
//     U(−1/√fan_in, 1/√fan_in).
//   - Their bias: U(−1/√fan_in, 1/√fan_in) with the same fan_in.
//   - fan_in is in_features for Linear, in_channels·kh·kw for Conv2d, and —
//     because PyTorch computes it from the weight's dimension 1 —
//     out_channels·kh·kw for ConvTranspose2d (weight [in, out, kh, kw]).
//   - Embedding: N(0, 1).
//   - BatchNorm, LayerNorm: weight 1, bias 0, running_mean 0, running_var 1.

// KaimingUniformBound is the bound of PyTorch's kaiming_uniform_ for a
// leaky-ReLU slope a: √(6/((1+a²)·fanIn)). With a = √5 it is 1/√fanIn.
func KaimingUniformBound(a float64, fanIn int) float32 {
	if fanIn <= 0 {
		panic(fmt.Sprintf("nn.KaimingUniformBound: fan_in %d", fanIn))
	}
	return float32(math.Sqrt(6 / ((1 + a*a) * float64(fanIn))))
}

// UniformInit draws a tensor uniform on [−bound, bound).
func UniformInit(d tensor.Device, rng *tensor.RNG, bound float32, shape ...int) *tensor.Tensor {
	return rng.Uniform(d, -bound, bound, shape...)
}

// KaimingUniform draws PyTorch's kaiming_uniform_(a) for the given fan_in.
func KaimingUniform(d tensor.Device, rng *tensor.RNG, a float64, fanIn int, shape ...int) *tensor.Tensor {
	return UniformInit(d, rng, KaimingUniformBound(a, fanIn), shape...)
}

// XavierUniform draws PyTorch's xavier_uniform_: U(−b, b) with
// b = gain·√(6/(fanIn+fanOut)).
func XavierUniform(d tensor.Device, rng *tensor.RNG, gain float64, fanIn, fanOut int, shape ...int) *tensor.Tensor {
	return UniformInit(d, rng, float32(gain*math.Sqrt(6/float64(fanIn+fanOut))), shape...)
}

// NormalInit draws N(mean, std²).
func NormalInit(d tensor.Device, rng *tensor.RNG, mean, std float32, shape ...int) *tensor.Tensor {
	return rng.Normal(d, mean, std, shape...)
}

// defaultBound is the bound PyTorch's layers use for weight and bias.
func defaultBound(fanIn int) float32 { return KaimingUniformBound(math.Sqrt(5), fanIn) }

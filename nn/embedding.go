package nn

import (
	"fmt"

	"github.com/ingotml/ingot/tensor"
)

// Embedding maps int32 ids to rows of a [num, dim] table (PyTorch's
// nn.Embedding, weight initialised N(0, 1)).
type Embedding struct {
	Base
	Weight *Param // [num, dim]
	Num    int
	Dim    int
}

// NewEmbedding makes an Embedding of num vectors of size dim.
func NewEmbedding(d tensor.Device, rng *tensor.RNG, num, dim int) *Embedding {
	if num <= 0 || dim <= 0 {
		panic(fmt.Sprintf("nn.NewEmbedding: invalid sizes num=%d dim=%d", num, dim))
	}
	e := &Embedding{Num: num, Dim: dim}
	e.Weight = e.AddParam("weight", NormalInit(d, rng, 0, 1, num, dim))
	return e
}

// Forward looks up int32 ids of any shape, giving [ids..., dim]. An id out
// of range panics on the CPU (and is reported by Sync on other devices).
func (e *Embedding) Forward(ids *tensor.Tensor) *tensor.Tensor {
	if ids.DType() != tensor.Int32 {
		panic(fmt.Sprintf("nn.Embedding: ids must be int32, have %v", ids))
	}
	return tensor.Gather(e.Weight.T, ids)
}

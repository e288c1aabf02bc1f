package nn

import (
	_ "unsafe" // go:linkname

	"github.com/ingotml/ingot/tensor"
)

// rnnRecord attaches a backward function to out as ONE autograd node with
// the given inputs (backward returns one gradient per input, nil where
// none). Package tensor records its own ops this way but exports no
// custom-op API yet; until it does (requested: tensor.Record with this
// signature), the recurrent layers reach its recorder by linkname. Replace
// the body with a call to tensor.Record when it exists.
//
//go:linkname rnnRecord github.com/ingotml/ingot/tensor.record
func rnnRecord(out *tensor.Tensor, op string, inputs []*tensor.Tensor, backward func(g *tensor.Tensor) []*tensor.Tensor)

package nn

import (
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmbedding: lookups are exact copies of table rows; the gradient of
// the table is the scatter-add of the upstream rows (repeated ids add).
func TestEmbedding(t *testing.T) {
	e := NewEmbedding(cpu, tensor.NewRNG(2), 5, 3)
	w := e.Weight.T.Float32s()
	ids := tensor.FromInt32(cpu, []int32{4, 0, 4, 2}, 2, 2)
	y := e.Forward(ids)
	require.Equal(t, []int{2, 2, 3}, y.Shape())
	got := y.Float32s()
	for i, id := range []int{4, 0, 4, 2} {
		assert.Equal(t, w[id*3:id*3+3], got[i*3:i*3+3])
	}
	gy := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	backwardWith(y, gy)
	want := []float64{4, 5, 6, 0, 0, 0, 10, 11, 12, 0, 0, 0, 1 + 7, 2 + 8, 3 + 9}
	assertClose(t, want, e.Weight.T.Grad().Float32s(), 0, 0, "dW")
	assert.Panics(t, func() { e.Forward(tensor.Zeros(cpu, 2)) })
	assert.Panics(t, func() { e.Forward(tensor.FromInt32(cpu, []int32{5})) })
}

package kernels

import "github.com/ingotml/ingot/tensor"

// f32 is the n float32 elements of v (nil when n is 0 or v has no buffer).
func f32(v tensor.View, n int) []float32 {
	if n == 0 || v.Buf == nil {
		return nil
	}
	return v.Buf.Float32s(v.Off + n)[v.Off:]
}

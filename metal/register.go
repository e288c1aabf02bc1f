package metal

import (
	"github.com/ingotml/ingot/metal/mtl"
	"github.com/ingotml/ingot/tensor"
)

// The "metal" device: Metal.framework through purego. It opens only on
// macOS with an Apple-silicon GPU (M1 or later); elsewhere GetDevice
// reports why and Default falls back to the CPU.
func init() {
	tensor.RegisterDevice("metal", 10, func() (tensor.Device, error) { return New("metal", mtl.Open) })
}

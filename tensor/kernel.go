package tensor

import (
	"fmt"
	"sort"
	"sync"
)

// Kernel names a device kernel whose parameters have type P. Kernels are
// declared once, at package level, with NewKernel; each device implements
// them in its KernelTable with Implement. New kernels (fused cells,
// optimizer updates) are added this way without widening Device.
type Kernel[P any] struct {
	id   int
	name string
}

var kernelNames struct {
	sync.Mutex
	names []string
}

// NewKernel declares a kernel. Names are unique; declaring one twice panics.
func NewKernel[P any](name string) Kernel[P] {
	kernelNames.Lock()
	defer kernelNames.Unlock()
	for _, n := range kernelNames.names {
		if n == name {
			panic("tensor: kernel " + name + " declared twice")
		}
	}
	kernelNames.names = append(kernelNames.names, name)
	return Kernel[P]{id: len(kernelNames.names) - 1, name: name}
}

// Name is the kernel's name.
func (k Kernel[P]) Name() string { return k.name }

// KernelNames lists every declared kernel, sorted.
func KernelNames() []string {
	kernelNames.Lock()
	defer kernelNames.Unlock()
	names := append([]string(nil), kernelNames.names...)
	sort.Strings(names)
	return names
}

// KernelTable holds one device's kernel implementations.
type KernelTable struct {
	mu    sync.RWMutex
	impls []any // by kernel id: func(Device, P)
	names map[string]bool
}

// Implement sets d's implementation of k. fn receives the device it runs on.
func Implement[P any](t *KernelTable, k Kernel[P], fn func(d Device, p P)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.impls) <= k.id {
		t.impls = append(t.impls, nil)
	}
	t.impls[k.id] = fn
	if t.names == nil {
		t.names = map[string]bool{}
	}
	t.names[k.name] = true
}

// Has reports whether the table implements the named kernel.
func (t *KernelTable) Has(name string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.names[name]
}

// Run runs k with parameters p on d. Parameters pass by value so that a
// call allocates nothing. A device without the kernel is a
// programmer error and panics.
func (k Kernel[P]) Run(d Device, p P) {
	t := d.Kernels()
	t.mu.RLock()
	var fn any
	if k.id < len(t.impls) {
		fn = t.impls[k.id]
	}
	t.mu.RUnlock()
	if fn == nil {
		panic(fmt.Sprintf("tensor: device %s has no kernel %s", d.Name(), k.name))
	}
	fn.(func(Device, P))(d, p)
}

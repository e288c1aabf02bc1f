package tensor

import (
	"fmt"
	"os"
	"sort"
	"sync"
)

// Device runs kernels on buffers it allocated. The CPU device (package
// tensor) is the reference; others (package metal) register themselves on
// import, like database/sql drivers.
//
// A Device may run kernels asynchronously: Run enqueues, and results become
// visible to the host only through HostBytes, which waits for pending work.
// Implementations must be safe for concurrent use.
type Device interface {
	// Name identifies the device, e.g. "cpu" or "metal".
	Name() string
	// Kernels is the device's kernel table (see Kernel).
	Kernels() *KernelTable
	// Allocator hands out the device's buffers.
	Allocator() *Allocator
	// HostBytes returns host-addressable memory of b, after waiting for any
	// queued work that reads or writes it (write says whether the host will
	// write). On unified-memory devices it is b's own memory.
	HostBytes(b *Buffer, write bool) []byte
	// Sync waits for all queued work and reports a failure of it.
	Sync() error
}

// Opener opens a device, or says why it is unavailable on this machine.
type Opener func() (Device, error)

var devices = struct {
	sync.Mutex
	openers map[string]Opener
	opened  map[string]Device
	errs    map[string]error
	rank    map[string]int
}{openers: map[string]Opener{}, opened: map[string]Device{}, errs: map[string]error{}, rank: map[string]int{}}

// RegisterDevice makes a device available under name. Higher preference
// wins in Default. It panics if name is registered twice.
func RegisterDevice(name string, preference int, open Opener) {
	devices.Lock()
	defer devices.Unlock()
	if _, dup := devices.openers[name]; dup {
		panic("tensor: device " + name + " registered twice")
	}
	devices.openers[name] = open
	devices.rank[name] = preference
}

// DeviceNames lists the registered devices, most preferred first, whether or
// not they can be opened on this machine.
func DeviceNames() []string {
	devices.Lock()
	defer devices.Unlock()
	var names []string
	for n := range devices.openers {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return devices.rank[names[i]] > devices.rank[names[j]] })
	return names
}

// GetDevice opens (once) and returns the named device, or the reason it is
// unavailable.
func GetDevice(name string) (Device, error) {
	devices.Lock()
	defer devices.Unlock()
	if d, ok := devices.opened[name]; ok {
		return d, nil
	}
	if err, ok := devices.errs[name]; ok {
		return nil, err
	}
	open, ok := devices.openers[name]
	if !ok {
		return nil, fmt.Errorf("tensor: unknown device %q (registered: %v)", name, namesLocked())
	}
	d, err := open()
	if err != nil {
		err = fmt.Errorf("device %s unavailable: %w", name, err)
		devices.errs[name] = err
		return nil, err
	}
	devices.opened[name] = d
	return d, nil
}

func namesLocked() []string {
	var names []string
	for n := range devices.openers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Default returns the device named by INGOT_DEVICE, else the most preferred
// device that opens on this machine (the CPU device always does). An
// INGOT_DEVICE naming a device that cannot be opened is an error.
func Default() (Device, error) {
	if name := os.Getenv("INGOT_DEVICE"); name != "" && name != "auto" {
		d, err := GetDevice(name)
		if err != nil {
			return nil, fmt.Errorf("INGOT_DEVICE=%s: %w", name, err)
		}
		return d, nil
	}
	for _, n := range DeviceNames() {
		if d, err := GetDevice(n); err == nil {
			return d, nil
		}
	}
	return CPU(), nil
}

// MustDefault is Default for programs that cannot go on without a device.
func MustDefault() Device {
	d, err := Default()
	if err != nil {
		panic(err)
	}
	return d
}

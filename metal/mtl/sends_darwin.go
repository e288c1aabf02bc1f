//go:build darwin

package mtl

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"

	"github.com/ingotml/ingot/metal/driver"
)

// Open opens the system's Metal GPU. Call it, and every method of what it
// returns, from one goroutine locked with runtime.LockOSThread. On a Mac
// without an Apple-silicon GPU (or without Metal) it returns an error saying
// why; it never panics.
func Open() (driver.Driver, error) {
	d, err := openWith(darwin)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// darwin is the send table backed by purego, filled on first use.
var darwin = new(sends)

func init() { darwin.load = loadDarwin }

var (
	darwinOnce sync.Once
	darwinErr  error
)

func loadDarwin() error {
	darwinOnce.Do(func() { darwinErr = fillDarwin(darwin) })
	return darwinErr
}

// Framework and library paths. On macOS 11 and later they live in the dyld
// shared cache; dlopen still resolves these paths.
const (
	pathObjC         = "/usr/lib/libobjc.A.dylib"
	pathSystem       = "/usr/lib/libSystem.B.dylib"
	pathFoundation   = "/System/Library/Frameworks/Foundation.framework/Foundation"
	pathCoreGraphics = "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"
	pathMetal        = "/System/Library/Frameworks/Metal.framework/Metal"
)

// fillDarwin opens the frameworks and registers every typed send once.
// Classes are looked up only after this (objc_getClass before the framework
// is loaded yields 0).
func fillDarwin(s *sends) (err error) {
	defer func() {
		if r := recover(); r != nil { // purego panics on a symbol it cannot call
			err = fmt.Errorf("registering C functions: %v", r)
		}
	}()
	handles := map[string]uintptr{}
	// Foundation provides NSString; CoreGraphics must be loaded for
	// MTLCreateSystemDefaultDevice to find a device in a command-line
	// process (Apple's documentation of that function says so).
	for _, path := range []string{pathObjC, pathSystem, pathFoundation, pathCoreGraphics, pathMetal} {
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			return fmt.Errorf("loading %s: %w", path, err)
		}
		handles[path] = h
	}
	sym := func(lib, name string) (uintptr, error) {
		p, err := purego.Dlsym(handles[lib], name)
		if err != nil {
			return 0, fmt.Errorf("looking up %s in %s: %w", name, lib, err)
		}
		return p, nil
	}
	funcs := []struct {
		fptr any
		lib  string
		name string
	}{
		{&s.createSystemDefaultDevice, pathMetal, "MTLCreateSystemDefaultDevice"},
		{&s.copyAllDevices, pathMetal, "MTLCopyAllDevices"},
		{&s.poolPush, pathObjC, "objc_autoreleasePoolPush"},
		{&s.poolPop, pathObjC, "objc_autoreleasePoolPop"},
		{&s.threadID, pathSystem, "pthread_self"},
	}
	for _, f := range funcs {
		p, err := sym(f.lib, f.name)
		if err != nil {
			return err
		}
		purego.RegisterFunc(f.fptr, p)
	}

	msgSend, err := sym(pathObjC, "objc_msgSend")
	if err != nil {
		return err
	}
	// A 24-byte struct result: arm64 returns it through x8 with plain
	// objc_msgSend; amd64 returns it through a hidden first argument, which
	// needs objc_msgSend_stret.
	msgSendStruct := msgSend
	if runtime.GOARCH == "amd64" {
		if msgSendStruct, err = sym(pathObjC, "objc_msgSend_stret"); err != nil {
			return err
		}
	}
	if err := registerSends(s, func(k sendKind) uintptr {
		if k == kSize {
			return msgSendStruct
		}
		return msgSend
	}); err != nil {
		return err
	}

	var selMu sync.Mutex
	selCache := map[string]uintptr{}
	s.sel = func(name string) uintptr {
		selMu.Lock()
		defer selMu.Unlock()
		if p, ok := selCache[name]; ok {
			return p
		}
		p := uintptr(objc.RegisterName(name))
		selCache[name] = p
		return p
	}
	var classMu sync.Mutex
	classCache := map[string]uintptr{}
	s.class = func(name string) uintptr {
		classMu.Lock()
		defer classMu.Unlock()
		if p, ok := classCache[name]; ok {
			return p
		}
		p := uintptr(objc.GetClass(name))
		if p != 0 {
			classCache[name] = p
		}
		return p
	}
	return nil
}

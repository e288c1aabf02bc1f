//go:build !linux

package emu

import (
	"sync"

	"github.com/ebitengine/purego"
)

var (
	pthreadOnce sync.Once
	pthreadSelf func() uintptr
)

// gettid identifies the calling OS thread (pthread_self; there is no gettid).
func gettid() int {
	pthreadOnce.Do(func() {
		lib, err := purego.Dlopen("/usr/lib/libSystem.B.dylib", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			panic("MSL emulator: cannot load libSystem: " + err.Error())
		}
		purego.RegisterLibFunc(&pthreadSelf, lib, "pthread_self")
	})
	return int(pthreadSelf())
}

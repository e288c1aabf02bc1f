//go:build darwin || (linux && abiprobe)

package mtl

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// registerSends fills every typed send of s with purego, each calling the C
// function at addr(kind). On darwin every kind calls objc_msgSend (struct
// results on amd64 objc_msgSend_stret); the Linux ABI test points each kind
// at a C function of the same signature to check how the arguments arrive.
// purego.RegisterFunc panics on a signature it cannot call; that becomes an
// error.
func registerSends(s *sends, addr func(sendKind) uintptr) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("registering Objective-C calls: %v", r)
		}
	}()
	for _, t := range s.typed() {
		purego.RegisterFunc(t.fptr, addr(t.kind))
	}
	return nil
}

package emu

import "sync/atomic"

func storeUint32(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

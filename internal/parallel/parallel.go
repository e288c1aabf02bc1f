// Package parallel runs data-parallel work on a persistent pool of worker
// goroutines shared by every CPU kernel (GEMM, elementwise, reductions).
//
// A call to Run splits a Task into parts; the calling goroutine works on parts
// too, and claims any part no worker has taken yet, so nested calls (a task
// that itself calls Run) never deadlock and a busy pool never stalls a caller.
// Run allocates nothing in steady state: tasks are interfaces implemented by
// caller-owned structs, and per-call bookkeeping is recycled.
//
// Run is safe for concurrent use. The thread count is read once from
// INGOT_THREADS (default GOMAXPROCS) and may be changed with SetThreads.
package parallel

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// Task is one parallel job: Run(part, parts) does the part-th of parts
// pieces. Parts run concurrently and in any order.
type Task interface {
	Run(part, parts int)
}

type batch struct {
	task  Task
	parts int32
	next  atomic.Int32
	wg    sync.WaitGroup
}

// work claims and runs parts until none are left.
func (b *batch) work() {
	for {
		p := b.next.Add(1) - 1
		if p >= b.parts {
			return
		}
		b.task.Run(int(p), int(b.parts))
	}
}

var (
	mu      sync.Mutex
	threads atomic.Int32
	started int
	queue   = make(chan *batch, 256)
	batches = sync.Pool{New: func() any { return new(batch) }}
)

func init() {
	n := runtime.GOMAXPROCS(0)
	if s := os.Getenv("INGOT_THREADS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	SetThreads(n)
}

// Threads reports how many goroutines (the caller included) Run uses.
func Threads() int { return int(threads.Load()) }

// SetThreads sets how many goroutines Run uses, the caller included; n < 1
// means 1. Workers are started on demand and never stopped.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	mu.Lock()
	defer mu.Unlock()
	for ; started < n-1; started++ {
		go worker()
	}
	threads.Store(int32(n))
}

func worker() {
	for b := range queue {
		b.work()
		b.wg.Done()
	}
}

// Run runs t.Run(p, parts) for every p in [0, parts) and returns when all
// parts are done. With parts <= 1 or one thread it runs inline.
func Run(t Task, parts int) {
	if parts <= 0 {
		return
	}
	helpers := min(parts, Threads()) - 1
	if helpers <= 0 {
		for p := range parts {
			t.Run(p, parts)
		}
		return
	}
	b := batches.Get().(*batch)
	b.task, b.parts = t, int32(parts)
	b.next.Store(0)
	for range helpers {
		b.wg.Add(1)
		select {
		case queue <- b:
		default: // pool saturated (e.g. a nested call): do the work here
			b.wg.Done()
		}
	}
	b.work()
	b.wg.Wait()
	b.task = nil
	batches.Put(b)
}

// Split returns the half-open range of the part-th of parts equal pieces of
// [0, n), aligned so that every piece but the last starts on a multiple of
// align (align >= 1).
func Split(n, part, parts, align int) (lo, hi int) {
	blocks := (n + align - 1) / align
	lo = blocks * part / parts * align
	hi = blocks * (part + 1) / parts * align
	return min(lo, n), min(hi, n)
}

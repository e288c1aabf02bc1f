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

	mu     sync.Mutex
	idle   *sync.Cond
	gen    uint64 // which call the batch serves; stale tokens see another
	closed bool   // the caller has claimed every part: no more joiners
	active int    // workers inside work()
}

// token invites a worker to help with one call of a batch.
type token struct {
	b   *batch
	gen uint64
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
	queue   = make(chan token, 256)
	batches = sync.Pool{New: func() any {
		b := new(batch)
		b.idle = sync.NewCond(&b.mu)
		return b
	}}
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

// Limit runs the process on n threads — the pool and GOMAXPROCS — until
// the returned function restores both; n < 1 changes nothing. Benchmarks
// use it for their --threads flags.
func Limit(n int) (restore func()) {
	if n < 1 {
		return func() {}
	}
	oldT, oldP := Threads(), runtime.GOMAXPROCS(n)
	SetThreads(n)
	return func() { SetThreads(oldT); runtime.GOMAXPROCS(oldP) }
}

// worker joins the calls it is invited to. A token may arrive after its call
// has finished (the caller did all the work): the generation check makes it
// a no-op. The caller never waits for a token still in the queue — only for
// workers already inside work() — so nested calls cannot deadlock.
func worker() {
	for {
		t := next()
		b := t.b
		b.mu.Lock()
		if b.gen != t.gen || b.closed {
			b.mu.Unlock()
			continue
		}
		b.active++
		b.mu.Unlock()
		b.work()
		b.mu.Lock()
		b.active--
		if b.active == 0 {
			b.idle.Broadcast()
		}
		b.mu.Unlock()
	}
}

// spinPolls is how many times an idle worker polls the queue before it
// blocks: a training step issues kernels a few microseconds apart, and a
// parked goroutine takes tens of microseconds to wake.
const spinPolls = 2000

// next returns the next token, polling briefly before blocking (unless
// the worker would poll on the caller's only processor).
func next() token {
	if runtime.GOMAXPROCS(0) == 1 {
		return <-queue
	}
	for range spinPolls {
		select {
		case t := <-queue:
			return t
		default:
			runtime.Gosched()
		}
	}
	return <-queue
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
	b.mu.Lock()
	b.task, b.parts, b.closed = t, int32(parts), false
	b.next.Store(0)
	gen := b.gen
	b.mu.Unlock()
	for range helpers {
		select {
		case queue <- token{b, gen}:
		default: // queue full: the caller does the work
		}
	}
	b.work()
	b.mu.Lock()
	b.closed = true
	for b.active > 0 {
		b.idle.Wait()
	}
	b.gen++
	b.task = nil
	b.mu.Unlock()
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

// forTask adapts a range function to Task.
type forTask struct {
	n, align int
	fn       func(lo, hi int)
}

func (t *forTask) Run(part, parts int) {
	if lo, hi := Split(t.n, part, parts, t.align); lo < hi {
		t.fn(lo, hi)
	}
}

// Grain is the work (in elements touched) below which For stays on the
// calling goroutine: handing a part to a worker costs about as much.
const Grain = 1 << 15

// For runs fn over [0, n) in contiguous pieces, split across the pool when
// n items each costing `cost` element-operations are worth it. Pieces other
// than the last start on multiples of align (≥ 1).
func For(n, cost, align int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	work := n * max(cost, 1)
	if work < Grain || Threads() == 1 || n == 1 {
		fn(0, n)
		return
	}
	Run(&forTask{n: n, align: max(align, 1), fn: fn}, min(Threads(), n, work/Grain))
}

package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type countTask struct {
	hits []atomic.Int32
}

func (c *countTask) Run(part, parts int) { c.hits[part].Add(1) }

func TestRunCoversEveryPartOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 4} {
		SetThreads(threads)
		for _, parts := range []int{0, 1, 2, 3, 17, 300} {
			c := &countTask{hits: make([]atomic.Int32, parts)}
			Run(c, parts)
			for p := range parts {
				require.Equal(t, int32(1), c.hits[p].Load(), "threads %d parts %d part %d", threads, parts, p)
			}
		}
	}
	SetThreads(2)
}

type nested struct{ total atomic.Int64 }

func (n *nested) Run(part, parts int) {
	inner := &countTask{hits: make([]atomic.Int32, 8)}
	Run(inner, 8) // nested calls must not deadlock, even with a saturated pool
	for i := range inner.hits {
		n.total.Add(int64(inner.hits[i].Load()))
	}
}

func TestNestedAndConcurrentRuns(t *testing.T) {
	SetThreads(4)
	defer SetThreads(2)
	var wg sync.WaitGroup
	results := make([]int64, 8)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := &nested{}
			Run(n, 16)
			results[g] = n.total.Load()
		}()
	}
	wg.Wait()
	for _, r := range results {
		assert.Equal(t, int64(16*8), r)
	}
}

func TestSplitPartitions(t *testing.T) {
	for _, c := range []struct{ n, parts, align int }{{0, 3, 1}, {10, 3, 1}, {100, 7, 16}, {5, 8, 4}, {129, 2, 64}} {
		next := 0
		for p := range c.parts {
			lo, hi := Split(c.n, p, c.parts, c.align)
			require.Equal(t, next, lo, "%+v part %d", c, p)
			require.LessOrEqual(t, lo, hi)
			if hi < c.n {
				require.Zero(t, hi%c.align, "%+v part %d ends unaligned", c, p)
			}
			next = hi
		}
		require.Equal(t, c.n, next, "%+v", c)
	}
}

func TestRunAllocatesNothing(t *testing.T) {
	c := &countTask{hits: make([]atomic.Int32, 4)}
	Run(c, 4)
	allocs := testing.AllocsPerRun(100, func() { Run(c, 4) })
	assert.Zero(t, allocs)
}

// TestLimit: the pool and GOMAXPROCS follow Limit and come back on restore.
func TestLimit(t *testing.T) {
	t0, p0 := Threads(), runtime.GOMAXPROCS(0)
	restore := Limit(1)
	if Threads() != 1 || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("Limit(1): threads %d, GOMAXPROCS %d", Threads(), runtime.GOMAXPROCS(0))
	}
	restore()
	if Threads() != t0 || runtime.GOMAXPROCS(0) != p0 {
		t.Fatalf("restore: threads %d, GOMAXPROCS %d, want %d, %d", Threads(), runtime.GOMAXPROCS(0), t0, p0)
	}
	Limit(0)() // no change
	if Threads() != t0 {
		t.Fatalf("Limit(0) changed the threads to %d", Threads())
	}
}

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/ingotml/ingot/internal/gemm"
	"github.com/ingotml/ingot/internal/parallel"
)

// GEMMConfig selects what RunGEMM measures.
type GEMMConfig struct {
	Sizes   [][3]int // m, n, k of C(m×n) = A(m×k)·B(k×n); empty means DefaultGEMMSizes
	Threads int      // worker threads (and GOMAXPROCS); 0 keeps the current count
	Repeat  int      // timed samples per row after a warm-up; 0 means 5
	JSON    bool     // one JSON object per row instead of a table
	// Paths limits the ingot kernel paths timed; empty means every
	// available one (the generic path takes seconds per call at 2048³).
	Paths []cpufeat.Path
}

// GEMMRow is one measured (implementation, shape) pair.
type GEMMRow struct {
	Name         string  `json:"name"`
	M            int     `json:"m"`
	N            int     `json:"n"`
	K            int     `json:"k"`
	Threads      int     `json:"threads"`
	GFLOPSMedian float64 `json:"gflops_median"`
	GFLOPSBest   float64 `json:"gflops_best"`
	MSMedian     float64 `json:"ms_median"`
	MSBest       float64 `json:"ms_best"`
	// VsGonum is GFLOPSMedian over gonum's on the same shape (0 for gonum).
	VsGonum float64 `json:"vs_gonum,omitempty"`
}

// DefaultGEMMSizes is square 128 to 2048 and the 64×1024×1024 shape an
// LSTM's input projection makes.
func DefaultGEMMSizes() [][3]int {
	return [][3]int{{128, 128, 128}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048}, {64, 1024, 1024}}
}

// ParseSizes parses a comma-separated list of shapes, each N (N×N×N) or
// MxNxK, e.g. "1024,2048,64x1024x1024".
func ParseSizes(s string) ([][3]int, error) {
	var out [][3]int
	items := strings.Split(s, ",")
	for i, item := range items {
		item = strings.TrimSpace(item)
		parts := strings.Split(strings.ToLower(item), "x")
		if len(parts) != 1 && len(parts) != 3 {
			return nil, fmt.Errorf("bench: size %q (item %d of %q): want N or MxNxK, e.g. 1024 or 64x1024x1024", item, i+1, s)
		}
		var d [3]int
		for j, p := range parts {
			v, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("bench: size %q (item %d of %q): %q is not a positive integer", item, i+1, s, p)
			}
			d[j] = v
		}
		if len(parts) == 1 {
			d[1], d[2] = d[0], d[0]
		}
		out = append(out, d)
	}
	return out, nil
}

// RunGEMM times every available ingot kernel path and gonum's blas32 Sgemm
// (C = A·B, row-major, no transposes) on each shape, writes a table (or JSON
// lines) to w, and returns the rows (see measure for the timing); GFLOPS
// count 2·m·n·k flops per call. Before timing, each path's result is
// checked against gonum's.
func RunGEMM(w io.Writer, cfg GEMMConfig) ([]GEMMRow, error) {
	if cfg.Threads < 0 || cfg.Repeat < 0 {
		return nil, fmt.Errorf("bench: threads (%d) and repeat (%d) must not be negative", cfg.Threads, cfg.Repeat)
	}
	sizes := cfg.Sizes
	if len(sizes) == 0 {
		sizes = DefaultGEMMSizes()
	}
	for _, s := range sizes {
		if s[0] <= 0 || s[1] <= 0 || s[2] <= 0 {
			return nil, fmt.Errorf("bench: size %dx%dx%d: dimensions must be positive", s[0], s[1], s[2])
		}
	}
	for _, p := range cfg.Paths {
		if !cpufeat.Has(p) {
			return nil, fmt.Errorf("bench: kernel path %q is not available on this CPU (available: %v)", p, cpufeat.Available())
		}
	}
	repeat := cmp0(cfg.Repeat, 5)
	if cfg.Threads > 0 {
		oldT, oldP := parallel.Threads(), runtime.GOMAXPROCS(cfg.Threads)
		parallel.SetThreads(cfg.Threads)
		defer func() { parallel.SetThreads(oldT); runtime.GOMAXPROCS(oldP) }()
	}
	threads := parallel.Threads()
	oldPath := gemm.Path()
	defer gemm.SetPath(oldPath) //nolint:errcheck // it was in use, so it is available

	var tw *tabwriter.Writer
	var enc *json.Encoder
	if cfg.JSON {
		enc = json.NewEncoder(w)
	} else {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "name\tm\tn\tk\tthreads\tms_median\tgflops_median\tgflops_best\tvs_gonum\t")
	}
	var rows []GEMMRow
	for _, s := range sizes {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(uint64(m), uint64(n)<<20|uint64(k)))
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		ref := make([]float32, m*n)
		gonumCall := func() {
			blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
				blas32.General{Rows: m, Cols: k, Stride: k, Data: a},
				blas32.General{Rows: k, Cols: n, Stride: n, Data: b}, 0,
				blas32.General{Rows: m, Cols: n, Stride: n, Data: ref})
		}
		gonumCall()
		c := make([]float32, m*n)
		var group []GEMMRow
		for _, p := range cpufeat.Available() {
			if len(cfg.Paths) > 0 && !slices.Contains(cfg.Paths, p) {
				continue
			}
			if err := gemm.SetPath(p); err != nil {
				continue // e.g. Accelerate listed but not loadable
			}
			call := func() { gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
			call()
			if err := compare(c, ref, k); err != nil {
				return rows, fmt.Errorf("bench: ingot-%s %dx%dx%d disagrees with gonum: %w", p, m, n, k, err)
			}
			group = append(group, measure("ingot-"+string(p), m, n, k, threads, repeat, call))
		}
		g := measure("gonum", m, n, k, threads, repeat, gonumCall)
		for i := range group {
			group[i].VsGonum = group[i].GFLOPSMedian / g.GFLOPSMedian
		}
		group = append(group, g)
		for _, r := range group {
			if enc != nil {
				if err := enc.Encode(r); err != nil {
					return rows, err
				}
				continue
			}
			ratio := ""
			if r.VsGonum > 0 {
				ratio = fmt.Sprintf("%.1fx", r.VsGonum)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.3f\t%.1f\t%.1f\t%s\t\n", r.Name, r.M, r.N, r.K, r.Threads, r.MSMedian, r.GFLOPSMedian, r.GFLOPSBest, ratio)
		}
		rows = append(rows, group...)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32() // [0,1): sums of products have no cancellation
	}
	return x
}

// compare checks got against want for non-negative data: each float32 sum
// of k products errs by at most about k·u relative (u = 2^-24), so two
// independent results differ by at most 2·k·u = k·2^-23 relative.
func compare(got, want []float32, k int) error {
	tol := float64(k+2) / (1 << 23)
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if !(math.Abs(g-w) <= tol*math.Abs(w)+1e-30) {
			return fmt.Errorf("element %d: %v vs %v", i, g, w)
		}
	}
	return nil
}

// measure times call: one untimed warm-up, then repeat samples of at least
// 20 ms each. Every call is timed on its own and the median and best are
// taken over all calls, so time the OS gives to other processes between
// calls (this machine is shared) does not count against either side.
func measure(name string, m, n, k, threads, repeat int, call func()) GEMMRow {
	t0 := time.Now()
	call()
	one := time.Since(t0)
	reps := 1
	if one < 20*time.Millisecond {
		reps = int(20*time.Millisecond/max(one, time.Microsecond)) + 1
	}
	ms := make([]float64, 0, repeat*reps)
	for range repeat * reps {
		t := time.Now()
		call()
		ms = append(ms, float64(time.Since(t).Nanoseconds())/1e6)
	}
	slices.Sort(ms)
	med := ms[len(ms)/2]
	if len(ms)%2 == 0 {
		med = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	}
	flop := 2 * float64(m) * float64(n) * float64(k)
	return GEMMRow{Name: name, M: m, N: n, K: k, Threads: threads,
		MSMedian: med, MSBest: ms[0], GFLOPSMedian: flop / med / 1e6, GFLOPSBest: flop / ms[0] / 1e6}
}

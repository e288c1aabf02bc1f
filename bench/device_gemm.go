package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ingotml/ingot/tensor"
)

// gpuTimer is what a GPU device (package metal) reports about its work.
type gpuTimer interface {
	GPUSeconds() float64
}

// RunDeviceGEMM times tensor.MatMul on a device such as Metal: wall time per
// product including the wait for the result, and, where the device reports
// it, the GPU time of its command buffers. Results are checked against the
// CPU device first.
func RunDeviceGEMM(w io.Writer, d tensor.Device, cfg GEMMConfig) ([]GEMMRow, error) {
	sizes := cfg.Sizes
	if len(sizes) == 0 {
		sizes = DefaultGEMMSizes()
	}
	repeat := cmp0(cfg.Repeat, 5)
	var tw *tabwriter.Writer
	var enc *json.Encoder
	if cfg.JSON {
		enc = json.NewEncoder(w)
	} else {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "name\tm\tn\tk\tms_median\tgflops_median\tgflops_best\t")
	}
	var rows []GEMMRow
	for _, s := range sizes {
		m, n, k := s[0], s[1], s[2]
		rng := tensor.NewRNG(uint64(m*n + k))
		a, b := rng.Uniform(tensor.CPU(), 0, 1, m, k), rng.Uniform(tensor.CPU(), 0, 1, k, n)
		want := tensor.MatMul(a, b).Float32s()
		ad, bd := a.To(d), b.To(d)
		call := func() {
			c := tensor.MatMul(ad, bd)
			if err := d.Sync(); err != nil {
				panic(err)
			}
			c.Release()
		}
		got := tensor.MatMul(ad, bd).Float32s()
		if err := compare(got, want, k); err != nil {
			return rows, fmt.Errorf("bench: %s %dx%dx%d disagrees with the CPU: %w", d.Name(), m, n, k, err)
		}
		group := []GEMMRow{measure(d.Name()+"-wall", m, n, k, 0, repeat, call)}
		if t, ok := d.(gpuTimer); ok {
			const reps = 10
			start := t.GPUSeconds()
			for range reps {
				call()
			}
			sec := (t.GPUSeconds() - start) / reps
			flop := 2 * float64(m) * float64(n) * float64(k)
			group = append(group, GEMMRow{Name: d.Name() + "-gpu", M: m, N: n, K: k, MSMedian: sec * 1e3, MSBest: sec * 1e3,
				GFLOPSMedian: flop / sec / 1e9, GFLOPSBest: flop / sec / 1e9})
		}
		for _, r := range group {
			if enc != nil {
				if err := enc.Encode(r); err != nil {
					return rows, err
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.1f\t%.1f\t\n", r.Name, r.M, r.N, r.K, r.MSMedian, r.GFLOPSMedian, r.GFLOPSBest)
		}
		rows = append(rows, group...)
	}
	if tw != nil {
		return rows, tw.Flush()
	}
	return rows, nil
}

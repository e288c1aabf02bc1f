package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"iter"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// EpochRecord is one epoch of metrics.json.
type EpochRecord struct {
	Epoch          int     `json:"epoch"`            // 1-based
	Steps          int     `json:"steps"`            // global steps done at its end
	Seconds        float64 `json:"seconds"`          // time in Step (and Sync), without evaluation
	ItemsPerSecond float64 `json:"items_per_second"` // examples per second of step time
	EvalSeconds    float64 `json:"eval_seconds"`
	Train          Metrics `json:"train"`          // per-example means over the epoch
	Test           Metrics `json:"test,omitempty"` // Evaluate at the epoch's end
}

// Point is one point of a logged curve: the mean of the metrics over the
// steps since the previous point (training) or one evaluation (test).
type Point struct {
	Step    int     `json:"step"`  // global steps done
	Epoch   float64 `json:"epoch"` // Step / steps per epoch
	Metrics Metrics `json:"metrics"`
}

// History is what metrics.json holds.
type History struct {
	StepsPerEpoch int           `json:"steps_per_epoch"`
	Epochs        []EpochRecord `json:"epochs"`
	Train         []Point       `json:"train_curve"`
	Test          []Point       `json:"test_curve"`
}

func mapsKeys(m Metrics) iter.Seq[string] { return maps.Keys(m) }

func writeMetrics(dir string, h *History) error {
	js, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, MetricsFile), append(js, '\n'))
}

// summary is the epoch's line of output, e.g.
// "epoch 3/10  train loss 251.2 kl 24.1  test loss 249.8  12.1 s  4950 img/s".
func (r EpochRecord) summary(epochs int, unit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d/%d  train", r.Epoch, epochs)
	writeMetricList(&b, r.Train)
	if r.Test != nil {
		b.WriteString("  test")
		writeMetricList(&b, r.Test)
	}
	if unit == "" {
		unit = "ex"
	}
	fmt.Fprintf(&b, "  %.1f s  %.0f %s/s", r.Seconds, r.ItemsPerSecond, unit)
	return b.String()
}

// writeMetricList writes " name value" pairs, "loss" first.
func writeMetricList(b *strings.Builder, m Metrics) {
	for _, k := range metricOrder(m) {
		fmt.Fprintf(b, " %s %.4g", k, m[k])
	}
}

func metricOrder(m Metrics) []string {
	keys := slices.Sorted(maps.Keys(m))
	if i := slices.Index(keys, "loss"); i > 0 {
		keys = append([]string{"loss"}, slices.Delete(keys, i, i+1)...)
	}
	return keys
}

// Plot describes one PNG of logged curves: each named metric's training
// curve as a line and its evaluations as points, against epochs.
type Plot struct {
	File    string   // file name in Config.Dir, e.g. "loss.png"
	Title   string   // e.g. "VAE loss"
	YLabel  string   // e.g. "nats per image"
	Metrics []string // e.g. {"loss"}; several share the axes
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
}

func writePlots(dir string, plots []Plot, h *History) error {
	for _, p := range plots {
		png, err := PlotPNG(p, h)
		if err != nil {
			return err
		}
		if err := WriteFileAtomic(filepath.Join(dir, p.File), png); err != nil {
			return fmt.Errorf("train: plot: %w", err)
		}
	}
	return nil
}

// PlotPNG draws p from h as a 6×4 inch PNG at 96 dpi.
func PlotPNG(p Plot, h *History) ([]byte, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.X.Label.Text = "epoch"
	pl.Y.Label.Text = p.YLabel
	pl.Add(plotter.NewGrid())
	pl.Legend.Top = true
	for i, name := range p.Metrics {
		c := palette[i%len(palette)]
		if xy := curve(h.Train, name); len(xy) > 0 {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("train: plot %s: %w", p.File, err)
			}
			l.Color = c
			l.Width = vg.Points(1.5)
			pl.Add(l)
			pl.Legend.Add("train "+name, l)
		}
		if xy := curve(h.Test, name); len(xy) > 0 {
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("train: plot %s: %w", p.File, err)
			}
			s.Color = c
			s.Shape = draw.CircleGlyph{}
			s.Radius = vg.Points(3)
			pl.Add(s)
			pl.Legend.Add("test "+name, s)
			if len(xy) > 1 {
				l, _ := plotter.NewLine(xy)
				l.Color = c
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				pl.Add(l)
			}
		}
	}
	// Long runs: start the y axis where the curves have settled (after the
	// first 5% of the run), so the first steps do not flatten the rest.
	var last float64
	for _, p := range h.Train {
		last = max(last, p.Epoch)
	}
	if last >= 2 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, pts := range [][]Point{h.Train, h.Test} {
			for _, pt := range pts {
				for _, name := range p.Metrics {
					if v, ok := pt.Metrics[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
						lo = min(lo, v)
						if pt.Epoch >= last/20 {
							hi = max(hi, v)
						}
					}
				}
			}
		}
		if lo < hi {
			pad := (hi - lo) * 0.05
			pl.Y.Min, pl.Y.Max = lo-pad, hi+pad
		}
	}
	wt, err := pl.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return nil, fmt.Errorf("train: plot %s: %w", p.File, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("train: plot %s: %w", p.File, err)
	}
	return buf.Bytes(), nil
}

func curve(pts []Point, name string) plotter.XYs {
	var xy plotter.XYs
	for _, p := range pts {
		if v, ok := p.Metrics[name]; ok {
			xy = append(xy, plotter.XY{X: p.Epoch, Y: v})
		}
	}
	return xy
}

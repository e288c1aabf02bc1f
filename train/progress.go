package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is the live bar of one epoch; a no-op unless the output is a
// terminal and not quiet.
type progress struct {
	bar    *progressbar.ProgressBar
	prefix string // "epoch 3/10"
	unit   string // "img"
}

// isTerminal reports whether w is a character device (a terminal), without
// a dependency: redirected output gets epoch lines only.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, quiet bool, steps, done, epoch, epochs int, unit string) *progress {
	if quiet || !isTerminal(w) {
		return &progress{}
	}
	prefix := fmt.Sprintf("epoch %d/%d", epoch, epochs)
	bar := progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(prefix),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
	if done > 0 {
		_ = bar.Set(done)
	}
	if unit == "" {
		unit = "ex"
	}
	return &progress{bar: bar, prefix: prefix, unit: unit}
}

// step advances the bar by one batch, showing the batch's metrics and the
// epoch's throughput so far.
func (p *progress) step(items int, m Metrics, rate float64) {
	if p.bar == nil {
		return
	}
	var b strings.Builder
	b.WriteString(p.prefix)
	writeMetricList(&b, m)
	fmt.Fprintf(&b, "  %.0f %s/s", rate, p.unit)
	p.bar.Describe(b.String())
	_ = p.bar.Add(1)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

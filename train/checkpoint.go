package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Checkpoint metadata keys of the loop.
const (
	metaLoop     = "train.state"    // loopState as JSON
	metaSettings = "train.settings" // Config.Settings
	metaKind     = "train.kind"     // "checkpoint"
)

func saveCheckpoint(path, settings string, task interface {
	State() (map[string]*tensor.Tensor, map[string]string, error)
}, st *loopState) error {
	ts, meta, err := task.State()
	if err != nil {
		return fmt.Errorf("train: checkpoint state: %w", err)
	}
	// The guard's second line: never checkpoint a diverged model.
	for _, name := range slices.Sorted(maps.Keys(ts)) {
		t := ts[name]
		if t.DType() != tensor.Float32 {
			continue
		}
		for i, v := range t.Float32s() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return &NonFiniteError{Step: st.Step, Epoch: st.Epoch + 1, Name: fmt.Sprintf("tensor %s[%d]", name, i), Value: float64(v), Checkpoint: lastCheckpoint(path)}
			}
		}
	}
	all := map[string]string{}
	for k, v := range meta {
		if strings.HasPrefix(k, "train.") {
			return fmt.Errorf("train: task metadata key %q uses the reserved prefix \"train.\"", k)
		}
		all[k] = v
	}
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	all[metaLoop] = string(js)
	all[metaSettings] = settings
	all[metaKind] = "checkpoint"
	if err := nn.SaveState(path, ts, all); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// lastCheckpoint is path if a checkpoint exists there.
func lastCheckpoint(path string) string {
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return ""
}

func loadCheckpoint(path, settings string, task interface {
	LoadState(map[string]*tensor.Tensor, map[string]string) error
}) (*loopState, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("train: nothing to resume: no checkpoint at %s (run once without resume first)", path)
	}
	// Tensors go to the CPU first; the task moves them to its device.
	ts, meta, err := nn.LoadState(path, tensor.CPU())
	if err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	if meta[metaKind] != "checkpoint" || meta[metaLoop] == "" {
		return nil, fmt.Errorf("train: resume: %s is not a training checkpoint (a weight file?)", path)
	}
	if got := meta[metaSettings]; got != settings {
		return nil, fmt.Errorf("train: resume: %s was made with other settings, so the run would not continue the same way:\n  checkpoint: %s\n  now:        %s\nuse the same settings, or a new output directory", path, got, settings)
	}
	st := &loopState{}
	if err := json.Unmarshal([]byte(meta[metaLoop]), st); err != nil {
		return nil, fmt.Errorf("train: resume: %s: loop state: %w", path, err)
	}
	if st.Sums == nil {
		st.Sums = Metrics{}
	}
	if st.WinSums == nil {
		st.WinSums = Metrics{}
	}
	taskMeta := map[string]string{}
	for k, v := range meta {
		if !strings.HasPrefix(k, "train.") {
			taskMeta[k] = v
		}
	}
	if err := task.LoadState(ts, taskMeta); err != nil {
		return nil, fmt.Errorf("train: resume from %s: %w", path, err)
	}
	return st, nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path, so readers see the old or the
// new file, never part of one.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

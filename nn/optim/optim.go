package optim

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Optimizer updates parameters from their accumulated gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient.
	Step()
	// ZeroGrad zeroes the parameters' gradients.
	ZeroGrad()
	// LR is the current learning rate; SetLR changes it (schedules do).
	LR() float64
	SetLR(lr float64)
	// State returns the optimizer's state as named tensors (the live
	// buffers: write them out before the next Step).
	State() map[string]*tensor.Tensor
	// LoadState restores state returned by State (names with or without
	// the StatePrefix), checking every name, shape and dtype; on error
	// nothing is changed. Parameters absent from it start afresh.
	LoadState(map[string]*tensor.Tensor) error
}

// StatePrefix starts the name of every optimizer state tensor.
const StatePrefix = "optim."

// slot is one parameter's state.
type slot struct {
	p    *nn.Param
	step int
	bufs map[string]*tensor.Tensor
}

// base is what every optimizer shares: parameters, learning rate, state.
type base struct {
	name    string
	lr      float64
	slots   []*slot
	bufList []string // state buffer names this optimizer's configuration keeps
}

func newBase(name string, params []*nn.Param, lr float64, bufs []string) (base, error) {
	b := base{name: name, lr: lr, bufList: bufs}
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return b, fmt.Errorf("optim.%s: invalid learning rate %v", name, lr)
	}
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			return b, fmt.Errorf("optim.%s: parameter %q listed twice", name, p.Name)
		}
		seen[p.Name] = true
		if p.T.DType() != tensor.Float32 || !p.T.IsContiguous() {
			return b, fmt.Errorf("optim.%s: parameter %q is %v, want a contiguous float32 tensor", name, p.Name, p.T)
		}
		b.slots = append(b.slots, &slot{p: p, bufs: map[string]*tensor.Tensor{}})
	}
	return b, nil
}

func (b *base) LR() float64      { return b.lr }
func (b *base) SetLR(lr float64) { b.lr = lr }
func (b *base) ZeroGrad() {
	for _, s := range b.slots {
		s.p.T.ZeroGrad()
	}
}
func view(t *tensor.Tensor) tensor.View { return tensor.View{Buf: t.Buffer(), Off: t.Offset()} }

// buf returns s's state buffer name, creating it (zeros like the
// parameter) on first use.
func (s *slot) buf(name string) tensor.View {
	t := s.bufs[name]
	if t == nil {
		t = tensor.ZerosLike(s.p.T)
		s.bufs[name] = t
	}
	return view(t)
}

// gradView checks the gradient's layout (it must match the parameter's).
func gradView(s *slot, g *tensor.Tensor) tensor.View {
	if !g.IsContiguous() || g.Len() != s.p.T.Len() || g.Device() != s.p.T.Device() {
		panic(fmt.Sprintf("optim: gradient %v of parameter %s (%v) is not a contiguous tensor of its shape", g, s.p.Name, s.p.T))
	}
	return view(g)
}

// paramView is the parameter's own buffer, which the update kernels write.
func paramView(s *slot) tensor.View {
	if !s.p.T.IsContiguous() {
		panic(fmt.Sprintf("optim: parameter %s (%v) is not contiguous", s.p.Name, s.p.T))
	}
	return view(s.p.T)
}

func (b *base) State() map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, s := range b.slots {
		if s.step == 0 {
			continue
		}
		pre := StatePrefix + s.p.Name + "."
		out[pre+"step"] = tensor.FromInt32(s.p.T.Device(), []int32{int32(s.step)}, 1)
		for k, t := range s.bufs {
			out[pre+k] = t
		}
	}
	return out
}

func (b *base) LoadState(st map[string]*tensor.Tensor) error {
	byName := map[string]*slot{}
	for _, s := range b.slots {
		byName[s.p.Name] = s
	}
	type pending struct {
		s    *slot
		step int
		bufs map[string]*tensor.Tensor
	}
	news := map[*slot]*pending{}
	var names []string
	for k := range st {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t := st[k]
		// Names as State gives them, or with the prefix already removed
		// (nn.SplitPrefix does that).
		rest, _ := strings.CutPrefix(k, StatePrefix)
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			return fmt.Errorf("optim.%s: state tensor %q: want %s<param>.<buffer>", b.name, k, StatePrefix)
		}
		pname, bname := rest[:i], rest[i+1:]
		s := byName[pname]
		if s == nil {
			return fmt.Errorf("optim.%s: state tensor %q is for an unknown parameter %q", b.name, k, pname)
		}
		pd := news[s]
		if pd == nil {
			pd = &pending{s: s, bufs: map[string]*tensor.Tensor{}}
			news[s] = pd
		}
		if bname == "step" {
			if t.DType() != tensor.Int32 || t.Len() != 1 {
				return fmt.Errorf("optim.%s: state tensor %q is %v, want int32[1]", b.name, k, t)
			}
			pd.step = int(t.Int32s()[0])
			if pd.step <= 0 {
				return fmt.Errorf("optim.%s: state tensor %q holds step %d, want ≥ 1", b.name, k, pd.step)
			}
			continue
		}
		known := false
		for _, n := range b.bufList {
			known = known || n == bname
		}
		if !known {
			return fmt.Errorf("optim.%s: state tensor %q: %s keeps no buffer %q (it keeps %v)", b.name, k, b.name, bname, b.bufList)
		}
		if t.DType() != tensor.Float32 || !slices.Equal(t.Shape(), s.p.T.Shape()) {
			return fmt.Errorf("optim.%s: state tensor %q is %v, want float32%v like its parameter", b.name, k, t, s.p.T.Shape())
		}
		pd.bufs[bname] = t
	}
	for _, pd := range news {
		if pd.step == 0 {
			return fmt.Errorf("optim.%s: state for parameter %q has no %s%s.step", b.name, pd.s.p.Name, StatePrefix, pd.s.p.Name)
		}
		for _, n := range b.bufList {
			if pd.bufs[n] == nil {
				return fmt.Errorf("optim.%s: state for parameter %q has no %s%s.%s", b.name, pd.s.p.Name, StatePrefix, pd.s.p.Name, n)
			}
		}
	}
	// All checked: install copies on the parameters' devices.
	for _, s := range b.slots {
		pd := news[s]
		for _, t := range s.bufs {
			t.Release()
		}
		s.step, s.bufs = 0, map[string]*tensor.Tensor{}
		if pd == nil {
			continue
		}
		s.step = pd.step
		for k, t := range pd.bufs {
			s.bufs[k] = tensor.FromFloat32(s.p.T.Device(), t.Float32s(), t.Shape()...)
		}
	}
	return nil
}

func checkRange(opt, what string, v, lo, hi float64, hiOpen bool) error {
	if math.IsNaN(v) || v < lo || v > hi || (hiOpen && v == hi) {
		bound := "]"
		if hiOpen {
			bound = ")"
		}
		return fmt.Errorf("optim.%s: invalid %s %v, want a value in [%v, %v%s", opt, what, v, lo, hi, bound)
	}
	return nil
}

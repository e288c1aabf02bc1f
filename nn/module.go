// Package nn is ingot's layer library: modules with PyTorch-compatible
// parameter names and layouts, losses, initialisers and weight files.
// Optimizers live in nn/optim, fused device kernels in nn/kernels.
//
// A module owns named state — trainable parameters and buffers such as
// BatchNorm's running statistics — listed by Params in PyTorch's dotted
// form ("encoder.0.weight"), so weights move to and from PyTorch without
// renaming. Modules are not safe for concurrent training; for inference
// from several goroutines, call Forward on tensors that do not require
// gradients (see Inference).
package nn

import (
	"fmt"
	"slices"

	"github.com/ingotml/ingot/tensor"
)

// Param is one named piece of a module's state.
type Param struct {
	Name      string         // dotted, PyTorch-compatible
	T         *tensor.Tensor // current value (a leaf)
	Trainable bool           // false for buffers (running_mean, num_batches_tracked…)

	parent *Param // the submodule's own Param this one is a prefixed copy of
}

// Module is anything with named state and a train/eval mode.
type Module interface {
	// Params lists the module's state, parameters and buffers, in
	// registration order, with dotted names.
	Params() []*Param
	// SetTraining switches train (true) or eval (false) mode, recursively.
	SetTraining(on bool)
}

// Layer is a module with one input and one output.
type Layer interface {
	Module
	Forward(x *tensor.Tensor) *tensor.Tensor
}

// Base implements Module for a struct that embeds it: own parameters and
// named submodules. Modules register their state in their constructor.
type Base struct {
	own      []*Param
	children []child
	training bool
}

type child struct {
	name string
	m    Module
}

// AddParam registers a trainable parameter (making it require gradients).
func (b *Base) AddParam(name string, t *tensor.Tensor) *Param {
	p := &Param{Name: name, T: t.SetRequiresGrad(true), Trainable: true}
	b.own = append(b.own, p)
	return p
}

// AddBuffer registers non-trainable state saved in weight files.
func (b *Base) AddBuffer(name string, t *tensor.Tensor) *Param {
	p := &Param{Name: name, T: t}
	b.own = append(b.own, p)
	return p
}

// AddModule registers a submodule under name.
func (b *Base) AddModule(name string, m Module) {
	b.children = append(b.children, child{name, m})
}

// Params implements Module.
func (b *Base) Params() []*Param {
	ps := append([]*Param(nil), b.own...)
	for _, c := range b.children {
		for _, p := range c.m.Params() {
			ps = append(ps, &Param{Name: c.name + "." + p.Name, T: p.T, Trainable: p.Trainable, parent: p})
		}
	}
	return ps
}

// SetTraining implements Module.
func (b *Base) SetTraining(on bool) {
	b.training = on
	for _, c := range b.children {
		c.m.SetTraining(on)
	}
}

// Training reports the mode.
func (b *Base) Training() bool { return b.training }

// Trainable returns the trainable parameters of m.
func Trainable(m Module) []*Param {
	var ps []*Param
	for _, p := range m.Params() {
		if p.Trainable {
			ps = append(ps, p)
		}
	}
	return ps
}

// Frozen runs f with the trainable parameters of ms marked as not requiring
// gradients — nothing records them, so a backward pass inside f computes no
// gradients for them (a GAN's generator update through a fixed
// discriminator) — and then restores each one's setting.
func Frozen(f func(), ms ...Module) {
	var ps []*Param
	var was []bool
	for _, m := range ms {
		for _, p := range Trainable(m) {
			ps, was = append(ps, p), append(was, p.T.RequiresGrad())
			p.T.SetRequiresGrad(false)
		}
	}
	defer func() {
		for i := len(ps) - 1; i >= 0; i-- { // reverse: a shared parameter gets its first setting back
			ps[i].T.SetRequiresGrad(was[i])
		}
	}()
	f()
}

// NumParams counts the trainable scalars of m.
func NumParams(m Module) int {
	n := 0
	for _, p := range Trainable(m) {
		n += p.T.Len()
	}
	return n
}

// Set copies t's values into the parameter, checking shape and dtype. The
// parameter keeps its tensor (t may live on another device), so optimizers
// built before loading weights go on updating the right tensors.
func (p *Param) Set(t *tensor.Tensor) error {
	if !slices.Equal(p.T.Shape(), t.Shape()) || p.T.DType() != t.DType() {
		return fmt.Errorf("parameter %s: have %v, got %v", p.Name, p.T, t)
	}
	p.T.Assign(t)
	return nil
}

// replace makes t the parameter's tensor (moving a module between devices).
func (p *Param) replace(t *tensor.Tensor) {
	if p.Trainable {
		t.SetRequiresGrad(true)
	}
	for q := p; q != nil; q = q.parent {
		q.T = t
	}
}

// ZeroGrad zeroes the gradients of m's trainable parameters.
func ZeroGrad(m Module) {
	for _, p := range Trainable(m) {
		p.T.ZeroGrad()
	}
}

// To moves every parameter and buffer of m to device d. Build optimizers
// after moving: the parameters are new tensors on d.
func To(m Module, d tensor.Device) {
	for _, p := range m.Params() {
		if p.T.Device() != d {
			p.replace(p.T.To(d))
		}
	}
}

package tensor

import (
	"fmt"
	"slices"
)

// node is the record of the op that produced a tensor, for backward.
type node struct {
	op     string
	inputs []*Tensor
	// backward maps the gradient of the output to gradients of the inputs
	// (nil where an input needs none). It must not record a graph.
	backward func(g *Tensor) []*Tensor
}

// needsGrad reports whether an op on these inputs is recorded: whether any
// of them requires gradients. This is the only switch: there is no global
// no-grad mode, so inference on detached tensors in one goroutine never
// affects training in another.
func needsGrad(ts ...*Tensor) bool {
	for _, t := range ts {
		if t.requiresGrad {
			return true
		}
	}
	return false
}

// Record makes out the result of a custom op (a fused layer, a loss) in the
// autograd graph: backward maps the gradient of out to one gradient per
// input (nil where none), and must not record a graph itself — compute on
// tensors that do not require gradients (Detach, or values saved before).
// Packages that define ops on fused kernels (nn's convolutions and
// recurrent layers) use it; call it only when an input requires gradients.
func Record(out *Tensor, op string, inputs []*Tensor, backward func(g *Tensor) []*Tensor) {
	record(out, op, inputs, backward)
}

// record attaches op's backward to out.
func record(out *Tensor, op string, inputs []*Tensor, backward func(g *Tensor) []*Tensor) {
	out.requiresGrad = true
	out.node = &node{op: op, inputs: inputs, backward: backward}
}

// nograd is a borrowed header over t's storage that does not require
// gradients: backward functions compute with it without recording. It holds
// no reference, so it is valid only while t is.
func (t *Tensor) nograd() *Tensor {
	v := *t
	v.requiresGrad, v.grad, v.node = false, nil, nil
	return &v
}

// SetRequiresGrad marks a leaf tensor (a parameter) as needing gradients
// and returns it.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	if t.node != nil {
		panic(fmt.Sprintf("tensor.SetRequiresGrad: %v is the result of %s, not a leaf", t, t.node.op))
	}
	t.requiresGrad = on
	return t
}

// Grad is the gradient accumulated into a leaf by Backward, or nil. Fetch it
// after each Backward: a backward after ZeroGrad may give the leaf a new
// gradient tensor (adopting the computed one instead of copying it).
func (t *Tensor) Grad() *Tensor {
	if t.gradZero {
		t.gradZero = false
		FillKernel.Run(t.grad.Device(), FillParams{Out: t.grad.view(), N: t.grad.Len()})
	}
	return t.grad
}

// ZeroGrad sets a leaf's accumulated gradient to zero, keeping its memory.
// The zeros are written lazily: the next Backward overwrites the gradient
// instead of adding to it.
func (t *Tensor) ZeroGrad() {
	if t.grad != nil {
		t.gradZero = true
	}
}

// Detach returns a view of t's values outside any graph: it does not
// require gradients and holds its own reference to the storage.
func (t *Tensor) Detach() *Tensor { return t.share() }

// Backward computes the gradient of the scalar t with respect to every leaf
// that requires gradients and adds it to the leaf's Grad. Gradients of
// intermediate tensors are released as soon as they are used.
func (t *Tensor) Backward() {
	if t.Len() != 1 {
		panic(fmt.Sprintf("tensor.Backward: %v is not a scalar; use BackwardWith", t))
	}
	t.BackwardWith(Ones(t.Device(), t.Shape()...))
}

// BackwardWith is Backward from a given upstream gradient of t's shape. It
// takes ownership of g.
func (t *Tensor) BackwardWith(g *Tensor) {
	if !slices.Equal(g.Shape(), t.Shape()) {
		panic(fmt.Sprintf("tensor.BackwardWith: gradient %v for tensor %v", g, t))
	}
	if !t.requiresGrad {
		panic(fmt.Sprintf("tensor.Backward: %v does not require gradients", t))
	}
	order := topoOrder(t)
	grads := map[*Tensor]*Tensor{t: g}
	for i := len(order) - 1; i >= 0; i-- {
		u := order[i]
		gu := grads[u]
		delete(grads, u)
		if gu == nil {
			continue
		}
		if u.node == nil {
			if !u.accumulate(gu) {
				gu.Release()
			}
			continue
		}
		gs := u.node.backward(gu)
		for j, in := range u.node.inputs {
			gi := gs[j]
			if gi == nil || !in.requiresGrad {
				if gi != nil && gi != gu {
					gi.Release()
				}
				continue
			}
			if gi == gu { // passed through unchanged: give the input its own reference
				gi = gu.share()
			}
			if prev := grads[in]; prev != nil {
				sum := binary(OpAdd, prev, gi, 0, 0)
				prev.Release()
				gi.Release()
				gi = sum
			}
			grads[in] = gi
		}
		gu.Release()
	}
}

// accumulate adds g to the leaf's gradient. When the gradient is (lazily)
// zero and g is a dense tensor nobody else holds, the leaf adopts g as its
// gradient instead of copying it, and accumulate reports true: the caller
// must not release g then. (So hold Grad() only until the next Backward.)
func (t *Tensor) accumulate(g *Tensor) (adopted bool) {
	if t.grad == nil || t.gradZero {
		if g.dtype == Float32 && g.node == nil && g.IsContiguous() && slices.Equal(g.Shape(), t.Shape()) &&
			g.st.dev == t.st.dev && g.st.refs.Load() == 1 {
			if t.grad != nil {
				t.grad.Release()
			}
			t.grad, t.gradZero = g, false
			return true
		}
	}
	if t.grad == nil {
		t.grad = Empty(t.Device(), Float32, t.Shape()...)
		t.gradZero = true
	}
	gr := t.grad
	if t.gradZero {
		t.gradZero = false
		v := g.nograd().BroadcastTo(gr.Shape()...)
		copyStrided(gr, v)
		v.Release()
		return false
	}
	BinaryKernel.Run(gr.Device(), BinaryParams{Op: OpAdd, Out: gr.view(), A: gr.layout(), B: g.layoutAs(gr.Shape()), N: gr.Len()})
	return false
}

// topoOrder lists the recorded tensors t depends on, inputs before outputs.
func topoOrder(t *Tensor) []*Tensor {
	var order []*Tensor
	seen := map[*Tensor]bool{}
	type frame struct {
		t    *Tensor
		next int
	}
	stack := []frame{{t: t}}
	seen[t] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.t.node != nil && f.next < len(f.t.node.inputs) {
			in := f.t.node.inputs[f.next]
			f.next++
			if in.requiresGrad && !seen[in] {
				seen[in] = true
				stack = append(stack, frame{t: in})
			}
			continue
		}
		order = append(order, f.t)
		stack = stack[:len(stack)-1]
	}
	return order
}

// ReleaseGraph releases t and every intermediate tensor of the graph that
// produced it, returning their memory to the device for the next step.
// Leaves (parameters, inputs) and their gradients are kept. Call it after
// Backward once nothing from the step is needed; intermediate tensors of
// the graph must not be used afterwards (Detach what you want to keep).
func (t *Tensor) ReleaseGraph() {
	var stack []*Tensor
	seen := map[*Tensor]bool{}
	if t.node != nil {
		stack = append(stack, t)
		seen[t] = true
	}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, in := range u.node.inputs {
			if in.node != nil && !seen[in] {
				seen[in] = true
				stack = append(stack, in)
			}
		}
		u.Release()
	}
	t.Release()
}

// AddScaled adds alpha·x to t in place (x broadcasts to t's shape). It is not
// recorded: use it for parameter updates, on leaves.
func (t *Tensor) AddScaled(alpha float32, x *Tensor) {
	if t.node != nil || !t.IsContiguous() || t.dtype != Float32 {
		panic(fmt.Sprintf("tensor.AddScaled: %v must be a contiguous float32 leaf", t))
	}
	sameDevice("AddScaled", t, x)
	BroadcastShapes("AddScaled", t.Shape(), x.Shape())
	BinaryKernel.Run(t.Device(), BinaryParams{Op: OpAxpy, Alpha: alpha, Out: t.view(), A: t.layout(), B: x.layoutAs(t.Shape()), N: t.Len()})
}

package metal

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/ingotml/ingot/metal/driver"
	"github.com/ingotml/ingot/tensor"
)

// args packs a kernel's argument struct: 4-byte little-endian fields in
// the order of the MSL struct (shaders/*.metal).
type args []byte

func (a args) i32(v int) args {
	if v > math.MaxInt32 || v < math.MinInt32 {
		panic(fmt.Sprintf("metal: %d does not fit a kernel's 32-bit argument", v))
	}
	return binary.LittleEndian.AppendUint32(a, uint32(int32(v)))
}

func (a args) u32(v uint32) args  { return binary.LittleEndian.AppendUint32(a, v) }
func (a args) f32(v float32) args { return binary.LittleEndian.AppendUint32(a, math.Float32bits(v)) }
func (a args) b(v bool) args {
	if v {
		return a.i32(1)
	}
	return a.i32(0)
}

// layout packs a tensor.Layout (struct Layout in ingot.h) relative to its
// buffer bound at offset 0.
func (a args) layout(l tensor.Layout) args {
	a = a.i32(l.Rank).i32(l.Off)
	for i := range tensor.MaxRank {
		a = a.i32(l.Shape[i])
	}
	for i := range tensor.MaxRank {
		a = a.i32(l.Strides[i])
	}
	return a
}

// binding is one buffer argument: a tensor buffer at an element offset.
type binding struct {
	buf *tensor.Buffer
	off int // elements (4 bytes)
}

func view(v tensor.View) binding     { return binding{v.Buf, v.Off} }
func whole(b *tensor.Buffer) binding { return binding{b, 0} }

// grid is a dispatch size: threadgroups and threads per group. A linear
// grid covers n threads and may use smaller groups when a pipeline allows
// fewer threads per group.
type grid struct {
	groups, threads driver.Size
	n               int // threads of a linear grid, else 0
}

// linear covers n threads with 1-D groups of up to 256 threads, spilling
// into y when there are more than 65535 groups (kernels use flat_id).
func linear(n int) grid { return linearGroups(n, 256) }

func linearGroups(n, tpg int) grid {
	groups := (n + tpg - 1) / tpg
	x, y := groups, 1
	if groups > 65535 {
		x = 65535
		y = (groups + x - 1) / x
	}
	return grid{driver.Size{X: x, Y: y, Z: 1}, driver.Size{X: tpg, Y: 1, Z: 1}, n}
}

// groupsFor gives each of n outputs its own threadgroup of threads.
func groupsFor(n, threads int) grid {
	x, y := n, 1
	if n > 65535 {
		x = 65535
		y = (n + x - 1) / x
	}
	return grid{driver.Size{X: x, Y: y, Z: 1}, driver.Size{X: threads, Y: 1, Z: 1}, 0}
}

// dispatch queues kernel name with buffer arguments (in [[buffer(i)]]
// order), then the packed argument struct(s) as inline bytes.
func (d *Device) dispatch(name string, g grid, bufs []binding, extra ...[]byte) {
	disp := &driver.Dispatch{Threadgroups: g.groups, Threads: g.threads}
	used := make([]*mbuf, 0, len(bufs))
	for _, b := range bufs {
		var h *mbuf
		if b.buf == nil { // the status buffer
			disp.Args = append(disp.Args, driver.Arg{})
		} else {
			h = b.buf.Handle.(*mbuf)
			used = append(used, h)
			disp.Args = append(disp.Args, driver.Arg{Buffer: h.buf, Offset: b.off * 4})
		}
	}
	for _, e := range extra {
		if len(e) >= 4096 {
			panic(fmt.Sprintf("metal: %s: %d bytes of arguments exceed setBytes' 4 KB", name, len(e)))
		}
		disp.Args = append(disp.Args, driver.Arg{Bytes: e})
	}
	queued := d.post(func() {
		if d.err != nil {
			return
		}
		p, err := d.pipeline(name)
		if err != nil {
			d.err = err
			return
		}
		for i, a := range disp.Args {
			if a.Buffer == nil && a.Bytes == nil {
				disp.Args[i].Buffer = d.status
			}
		}
		if lim := p.MaxTotalThreadsPerThreadgroup(); g.n > 0 && g.threads.X > lim {
			g = linearGroups(g.n, max(lim/32*32, 32)) // size groups from the pipeline's limit
		}
		if t := g.threads.X * g.threads.Y * g.threads.Z; t > p.MaxTotalThreadsPerThreadgroup() {
			d.err = fmt.Errorf("kernel %s: %d threads per group exceed its limit %d", name, t, p.MaxTotalThreadsPerThreadgroup())
			return
		}
		disp.Pipeline = p
		d.encode(disp, used)
	})
	if !queued {
		panic(fmt.Sprintf("metal: %s on a closed device", name))
	}
}

// status is the binding of the device's error-status buffer.
var status = binding{}

func registerKernels(t *tensor.KernelTable) {
	registerNNKernels(t)
	tensor.Implement(t, tensor.GemmKernel, gemm)
	tensor.Implement(t, tensor.UnaryKernel, func(dv tensor.Device, p tensor.UnaryParams) {
		if p.N == 0 {
			return
		}
		a := args{}.i32(int(p.Op)).f32(p.Alpha).f32(p.Beta).i32(p.N).layout(p.X)
		dv.(*Device).dispatch("unary", linear(p.N), []binding{view(p.Out), whole(p.X.Buf)}, a)
	})
	tensor.Implement(t, tensor.BinaryKernel, func(dv tensor.Device, p tensor.BinaryParams) {
		if p.N == 0 {
			return
		}
		a := args{}.i32(int(p.Op)).f32(p.Alpha).f32(p.Beta).i32(p.N).layout(p.A).layout(p.B)
		dv.(*Device).dispatch("binary", linear(p.N), []binding{view(p.Out), whole(p.A.Buf), whole(p.B.Buf)}, a)
	})
	tensor.Implement(t, tensor.WhereKernel, func(dv tensor.Device, p tensor.WhereParams) {
		if p.N == 0 {
			return
		}
		a := args{}.i32(p.N).layout(p.Cond).layout(p.A).layout(p.B)
		dv.(*Device).dispatch("where_select", linear(p.N), []binding{view(p.Out), whole(p.Cond.Buf), whole(p.A.Buf), whole(p.B.Buf)}, a)
	})
	tensor.Implement(t, tensor.FillKernel, func(dv tensor.Device, p tensor.FillParams) {
		if p.N == 0 {
			return
		}
		dv.(*Device).dispatch("fill", linear(p.N), []binding{view(p.Out)}, args{}.i32(p.N).u32(p.Value))
	})
	tensor.Implement(t, tensor.CopyKernel, func(dv tensor.Device, p tensor.CopyParams) {
		if p.N == 0 {
			return
		}
		dv.(*Device).dispatch("copy_strided", linear(p.N), []binding{view(p.Out), whole(p.X.Buf)}, args{}.i32(p.N).layout(p.X))
	})
	tensor.Implement(t, tensor.CastKernel, func(dv tensor.Device, p tensor.CastParams) {
		if p.N == 0 {
			return
		}
		mode := 2
		switch {
		case p.XType == tensor.Float32 && p.OutType == tensor.Int32:
			mode = 0
		case p.XType == tensor.Int32 && p.OutType == tensor.Float32:
			mode = 1
		case p.XType != p.OutType:
			panic(fmt.Sprintf("metal: cast %v to %v not supported", p.XType, p.OutType))
		}
		dv.(*Device).dispatch("cast", linear(p.N), []binding{view(p.Out), view(p.X)}, args{}.i32(p.N).i32(mode))
	})
	tensor.Implement(t, tensor.ReduceKernel, func(dv tensor.Device, p tensor.ReduceParams) {
		outs := p.Outer * p.Inner
		if outs == 0 {
			return
		}
		a := args{}.i32(int(p.Op)).i32(p.Outer).i32(p.Axis).i32(p.Inner)
		name, g := reduceShape("reduce", p.Axis, outs)
		dv.(*Device).dispatch(name, g, []binding{view(p.Out), view(p.X)}, a)
	})
	tensor.Implement(t, tensor.SoftmaxKernel, func(dv tensor.Device, p tensor.SoftmaxParams) {
		outs := p.Outer * p.Inner
		if outs == 0 || p.Axis == 0 {
			return
		}
		a := args{}.b(p.Log).i32(p.Outer).i32(p.Axis).i32(p.Inner)
		name, g := reduceShape("softmax", p.Axis, outs)
		dv.(*Device).dispatch(name, g, []binding{view(p.Out), view(p.X)}, a)
	})
	tensor.Implement(t, tensor.GatherKernel, func(dv tensor.Device, p tensor.GatherParams) {
		if p.N*p.Cols == 0 {
			return
		}
		a := args{}.i32(p.N).i32(p.Rows).i32(p.Cols)
		dv.(*Device).dispatch("gather_rows", linear(p.N*p.Cols), []binding{view(p.Out), view(p.Table), view(p.Index), status}, a)
	})
	tensor.Implement(t, tensor.ScatterAddKernel, func(dv tensor.Device, p tensor.ScatterAddParams) {
		if p.Rows*p.Cols == 0 || p.N == 0 {
			return
		}
		a := args{}.i32(p.N).i32(p.Rows).i32(p.Cols)
		dv.(*Device).dispatch("scatter_add_rows", linear(p.Rows*p.Cols), []binding{view(p.Out), view(p.Src), view(p.Index), status}, a)
	})
	tensor.Implement(t, tensor.RandKernel, func(dv tensor.Device, p tensor.RandParams) {
		if p.N == 0 {
			return
		}
		a := args{}.i32(int(p.Dist)).f32(p.A).f32(p.B).i32(p.N).
			u32(uint32(p.Seed)).u32(uint32(p.Seed >> 32)).
			u32(uint32(p.Stream)).u32(uint32(p.Stream >> 32)).
			u32(uint32(p.Counter)).u32(uint32(p.Counter >> 32))
		dv.(*Device).dispatch("rand_fill", linear(p.N), []binding{view(p.Out)}, a)
	})
}

// reduceShape picks the reduction kernel: a threadgroup per output for
// long axes with few outputs, else a thread per output.
func reduceShape(family string, axis, outs int) (string, grid) {
	if axis >= 256 && outs <= 4096 {
		return family + "_group", groupsFor(outs, 256)
	}
	return family + "_thread", linear(outs)
}

// GemmVariant names the kernel a GEMM of these parameters dispatches to.
func GemmVariant(p tensor.GemmParams) string {
	if p.M == 1 || p.N == 1 {
		return "gemv"
	}
	t := map[bool]string{false: "n", true: "t"}
	kind := "edge"
	if p.M%64 == 0 && p.N%64 == 0 && p.K%16 == 0 {
		kind = "aligned"
	}
	return "gemm_" + t[p.TransA] + t[p.TransB] + "_" + kind
}

// splitK chooses the number of K pieces: small outputs with a long K
// (K ≥ max(M, N)) are split so that enough threadgroups run.
func splitK(p tensor.GemmParams) (splits, kPer int) {
	tiles := ((p.M + 63) / 64) * ((p.N + 63) / 64) * p.Batch
	if tiles >= 16 || p.K < max(p.M, p.N) || p.K < 512 {
		return 1, (p.K + 15) / 16 * 16
	}
	splits = min(16/tiles, p.K/256)
	if splits < 2 {
		return 1, (p.K + 15) / 16 * 16
	}
	kPer = ((p.K+splits-1)/splits + 15) / 16 * 16
	return (p.K + kPer - 1) / kPer, kPer
}

func gemm(dv tensor.Device, p tensor.GemmParams) {
	d := dv.(*Device)
	if p.M == 0 || p.N == 0 || p.Batch == 0 {
		return
	}
	splits, kPer := splitK(p)
	a := args{}.i32(p.M).i32(p.N).i32(p.K).i32(p.LDA).i32(p.LDB).i32(p.LDC).
		i32(p.StrideA).i32(p.StrideB).i32(p.StrideC).f32(p.Alpha).f32(p.Beta).
		i32(p.Batch).i32(splits).i32(kPer)
	ab, bb, cb := view(p.A), view(p.B), view(p.C)
	name := GemmVariant(p)
	if name == "gemv" {
		trans := 0
		if p.TransA {
			trans |= 1
		}
		if p.TransB {
			trans |= 2
		}
		g := grid{groups: driver.Size{X: (max(p.M, p.N) + 7) / 8, Y: 1, Z: p.Batch}, threads: driver.Size{X: 256, Y: 1, Z: 1}}
		d.dispatch("gemv", g, []binding{ab, bb, cb}, a, args{}.i32(trans))
		return
	}
	g := grid{groups: driver.Size{X: (p.N + 63) / 64, Y: (p.M + 63) / 64, Z: p.Batch * splits}, threads: driver.Size{X: 128, Y: 1, Z: 1}}
	if splits == 1 {
		d.dispatch(name, g, []binding{ab, bb, cb, cb}, a)
		return
	}
	ws, err := d.alloc.Get(splits * p.Batch * p.M * p.N * 4)
	if err != nil {
		panic(fmt.Sprintf("metal: split-K workspace: %v", err))
	}
	d.dispatch(name, g, []binding{ab, bb, cb, whole(ws)}, a)
	d.dispatch("gemm_splitk_reduce", linear(p.Batch*p.M*p.N), []binding{cb, whole(ws)}, a)
	d.alloc.Put(ws) // later work runs after the reduction: reuse is safe
}

func float64bits(f float64) uint64     { return math.Float64bits(f) }
func float64frombits(b uint64) float64 { return math.Float64frombits(b) }

// hostSlice views a driver buffer's shared memory as bytes.
func hostSlice(b driver.Buffer) []byte {
	return unsafe.Slice((*byte)(b.Contents()), b.Len())
}

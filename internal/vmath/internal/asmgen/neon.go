package main

import (
	"fmt"
	"sort"
)

// neon emits arm64 Advanced SIMD code (4 lanes). Go's assembler knows the
// integer and bitwise vector instructions and FMLA/FMLS; the other
// floating-point ones are encoded here as WORDs.
//
// Register plan: values V0-V15, masks V16-V19, accumulators V20-V23,
// scalars V24-V25, scratch V26-V28. The kernel's most used constants live
// in V8-V15 and V29-V31 (loaded once before the loop; no kernel uses
// values above V7); the rest are built in R11 and broadcast with VDUP
// where used.
type neon struct {
	e      *emitter
	k      Kernel
	scr    int
	uses   map[uint32]int // constant -> uses, counted in a first pass
	pinned map[uint32]int // constant -> register
}

var neonConstRegs = []int{8, 9, 10, 11, 12, 13, 14, 15, 29, 30, 31}

func (x *neon) Name() string { return "NEON" }
func (x *neon) Width() int   { return 4 }

func (x *neon) vn(o Operand) int {
	switch o.kind {
	case kReg:
		if o.n > 15 {
			panic("NEON values are V0-V15")
		}
		return o.n
	case kScalar:
		return 24 + o.n
	}
	x.uses[o.bits]++
	if r, ok := x.pinned[o.bits]; ok {
		return r
	}
	r := 26 + x.scr
	x.scr++
	x.e.p("MOVW $0x%08x, R11", o.bits)
	x.e.p("VDUP R11, V%d.S4", r)
	return r
}

func (x *neon) mask(m Mask) int { return 16 + int(m) }

func (x *neon) acc(i, half int) int { return 20 + 2*i + half }

// word emits an instruction encoding with its mnemonic as a comment.
func (x *neon) word(enc uint32, format string, args ...any) {
	x.e.p("WORD $0x%08x // %s", enc, fmt.Sprintf(format, args...))
}

func (x *neon) three(base uint32, name string, d, n, m int) {
	x.word(base|uint32(m)<<16|uint32(n)<<5|uint32(d), "%s V%d.4S, V%d.4S, V%d.4S", name, d, n, m)
}

func (x *neon) two(base uint32, name string, d, n int) {
	x.word(base|uint32(n)<<5|uint32(d), "%s V%d, V%d", name, d, n)
}

func (x *neon) mov(d, n int) {
	if d != n {
		x.e.p("VORR V%d.B16, V%d.B16, V%d.B16", n, n, d)
	}
}

func (x *neon) Load(d Operand, p int) {
	x.scr = 0
	x.e.p("VLD1 (R%d), [V%d.S4]", p, d.n)
}

func (x *neon) Store(p int, s Operand) {
	x.scr = 0
	x.e.p("VST1 [V%d.S4], (R%d)", s.n, p)
}

var neonFP = map[string]uint32{
	"add": 0x4e20d400, "sub": 0x4ea0d400, "mul": 0x6e20dc00, "div": 0x6e20fc00,
	"min": 0x4ea0f400, "max": 0x4e20f400,
}

func (x *neon) Bin(op string, d, a, b Operand) {
	x.scr = 0
	an, bn := x.vn(a), x.vn(b)
	switch op {
	case "and":
		x.e.p("VAND V%d.B16, V%d.B16, V%d.B16", bn, an, d.n)
	case "or":
		x.e.p("VORR V%d.B16, V%d.B16, V%d.B16", bn, an, d.n)
	case "xor":
		x.e.p("VEOR V%d.B16, V%d.B16, V%d.B16", bn, an, d.n)
	case "andn": // ^a & b = BIC b, a
		x.three(0x4e601c00, "BIC(16B)", d.n, bn, an)
	case "iadd":
		x.e.p("VADD V%d.S4, V%d.S4, V%d.S4", bn, an, d.n)
	case "isub":
		x.e.p("VSUB V%d.S4, V%d.S4, V%d.S4", bn, an, d.n)
	default:
		enc, ok := neonFP[op]
		if !ok {
			panic("neon: no op " + op)
		}
		x.three(enc, "F"+op, d.n, an, bn)
	}
}

// fma: d = c ± a*b with FMLA/FMLS, which accumulate into their destination.
func (x *neon) fma(ins string, d, a, b, c Operand) {
	x.scr = 0
	an, bn := x.vn(a), x.vn(b)
	if same(d, c) {
		x.e.p("%s V%d.S4, V%d.S4, V%d.S4", ins, bn, an, d.n)
		return
	}
	acc := d.n
	if same(d, a) || same(d, b) {
		acc = 26 + x.scr
		x.scr++
	}
	if _, ok := x.pinned[c.bits]; c.kind == kConst && !ok {
		x.uses[c.bits]++
		x.e.p("MOVW $0x%08x, R11", c.bits)
		x.e.p("VDUP R11, V%d.S4", acc)
	} else {
		x.mov(acc, x.vn(c))
	}
	x.e.p("%s V%d.S4, V%d.S4, V%d.S4", ins, bn, an, acc)
	x.mov(d.n, acc)
}

func (x *neon) FMA(d, a, b, c Operand)  { x.fma("VFMLA", d, a, b, c) }
func (x *neon) FNMA(d, a, b, c Operand) { x.fma("VFMLS", d, a, b, c) }

func (x *neon) Round(d, a Operand) { x.scr = 0; x.two(0x4e218800, "FRINTN.4S", d.n, x.vn(a)) }
func (x *neon) CvtFI(d, a Operand) { x.scr = 0; x.two(0x4ea1b800, "FCVTZS.4S", d.n, x.vn(a)) }
func (x *neon) CvtIF(d, a Operand) { x.scr = 0; x.two(0x4e21d800, "SCVTF.4S", d.n, x.vn(a)) }

func (x *neon) Shl(d, a Operand, imm int) {
	x.scr = 0
	x.e.p("VSHL $%d, V%d.S4, V%d.S4", imm, x.vn(a), d.n)
}

func (x *neon) Sar(d, a Operand, imm int) {
	x.scr = 0
	n := x.vn(a)
	x.word(0x4f000400|uint32(64-imm)<<16|uint32(n)<<5|uint32(d.n), "SSHR V%d.4S, V%d.4S, #%d", d.n, n, imm)
}

func (x *neon) Cmp(pred string, m Mask, a, b Operand) {
	x.scr = 0
	an, bn := x.vn(a), x.vn(b)
	md := x.mask(m)
	switch pred {
	case "eq":
		x.three(0x4e20e400, "FCMEQ", md, an, bn)
	case "gt":
		x.three(0x6ea0e400, "FCMGT", md, an, bn)
	case "ge":
		x.three(0x6e20e400, "FCMGE", md, an, bn)
	case "lt":
		x.three(0x6ea0e400, "FCMGT", md, bn, an)
	case "le":
		x.three(0x6e20e400, "FCMGE", md, bn, an)
	default:
		panic("neon: no predicate " + pred)
	}
}

func (x *neon) Sel(d Operand, m Mask, a, b Operand) {
	x.scr = 0
	mn := x.mask(m)
	switch {
	case same(d, b):
		x.e.p("VBIT V%d.B16, V%d.B16, V%d.B16", mn, x.vn(a), d.n)
	case same(d, a):
		x.e.p("VBIF V%d.B16, V%d.B16, V%d.B16", mn, x.vn(b), d.n)
	default:
		an, bn := x.vn(a), x.vn(b)
		x.mov(d.n, mn)
		x.e.p("VBSL V%d.B16, V%d.B16, V%d.B16", bn, an, d.n)
	}
}

func (x *neon) Scalef(d, p, n, t1, t2 Operand) { scalefEmu(x, d, p, n, t1, t2) }

func (x *neon) Mov(d, a Operand) { x.scr = 0; x.mov(d.n, x.vn(a)) }

func (x *neon) widen(d, s int, high bool) {
	if high {
		x.two(0x4e617800, "FCVTL2.2D", d, s)
	} else {
		x.two(0x0e617800, "FCVTL.2D", d, s)
	}
}

func (x *neon) AccAddF64(acc int, s Operand) {
	for h := 0; h < 2; h++ {
		x.widen(26, s.n, h == 1)
		a := x.acc(acc, h)
		x.word(0x4e60d400|26<<16|uint32(a)<<5|uint32(a), "FADD V%d.2D, V%d.2D, V26.2D", a, a)
	}
}

func (x *neon) AccDotF64(acc int, a, b Operand) {
	for h := 0; h < 2; h++ {
		x.widen(26, a.n, h == 1)
		x.widen(27, b.n, h == 1)
		r := x.acc(acc, h)
		x.word(0x4e60cc00|27<<16|26<<5|uint32(r), "FMLA V%d.2D, V26.2D, V27.2D", r)
	}
}

func (x *neon) AccMaxF32(acc int, s Operand) {
	r := x.acc(acc, 0)
	x.three(0x4e20f400, "FMAX", r, r, s.n)
}

func (x *neon) AccAddF32(acc int, s Operand) {
	r := x.acc(acc, 0)
	x.three(0x4e20d400, "FADD", r, r, s.n)
}

func (x *neon) function(k Kernel) {
	x.k = k
	// First pass: count constant uses; pin the most used ones.
	x.uses, x.pinned = map[uint32]int{}, map[uint32]int{}
	real := x.e
	x.e = &emitter{}
	k.Body(x)
	x.e = real
	var cs []uint32
	for c := range x.uses {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool {
		if x.uses[cs[i]] != x.uses[cs[j]] {
			return x.uses[cs[i]] > x.uses[cs[j]]
		}
		return cs[i] < cs[j]
	})
	for i, c := range cs {
		if i == len(neonConstRegs) {
			break
		}
		x.pinned[c] = neonConstRegs[i]
	}
	ptrOff, nOff, scOff, accOff, size := argLayout(k)
	x.e.raw(fmt.Sprintf("\n// %s\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", goDecl(k, "NEON"), asmName(k, "NEON"), size))
	for i, name := range k.Ptrs {
		x.e.p("MOVD %s+%d(FP), R%d", name, ptrOff[i], i)
	}
	x.e.p("MOVD n+%d(FP), R4", nOff)
	for i, name := range k.Scalars {
		x.e.p("MOVWU %s+%d(FP), R11", name, scOff[i])
		x.e.p("VDUP R11, V%d.S4", 24+i)
	}
	for i, a := range k.Accs {
		if a.Kind == "f64" {
			for h := 0; h < 2; h++ {
				r := x.acc(i, h)
				x.e.p("VEOR V%d.B16, V%d.B16, V%d.B16", r, r, r)
			}
		} else {
			x.e.p("MOVW $0x%08x, R11", C(a.Init).bits)
			x.e.p("VDUP R11, V%d.S4", x.acc(i, 0))
		}
	}
	for _, c := range cs {
		if r, ok := x.pinned[c]; ok {
			x.e.p("MOVW $0x%08x, R11", c)
			x.e.p("VDUP R11, V%d.S4", r)
		}
	}
	x.e.raw("loop:\n")
	k.Body(x)
	for i := range k.Ptrs {
		x.e.p("ADD $16, R%d", i)
	}
	x.e.p("SUBS $4, R4")
	x.e.p("BNE loop")
	if len(k.Accs) > 0 {
		x.e.p("MOVD acc+%d(FP), R5", accOff)
		for i, a := range k.Accs {
			x.e.p("ADD $%d, R5, R6", i*32)
			if a.Kind == "f64" {
				x.e.p("VST1 [V%d.S4, V%d.S4], (R6)", x.acc(i, 0), x.acc(i, 1))
			} else {
				x.e.p("VST1 [V%d.S4], (R6)", x.acc(i, 0))
			}
		}
	}
	x.e.p("RET")
}

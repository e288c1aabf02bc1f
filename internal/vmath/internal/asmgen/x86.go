package main

import (
	"fmt"
	"strings"
)

// x86 emits AVX-512 (zmm, opmasks, VSCALEFPS) or AVX2+FMA (ymm, vector
// masks, emulated scalef) code. Go's operand order is reversed from Intel's:
// "OP b, a, d" computes d = a OP b, and only b may be a memory operand.
type x86 struct {
	avx512 bool
	e      *emitter
	cs     *consts
	k      Kernel
	scr    int  // next scratch register this instruction
	bcst   bool // the instruction being built reads a broadcast constant
}

func (x *x86) Name() string {
	if x.avx512 {
		return "AVX512"
	}
	return "AVX2"
}

func (x *x86) Width() int {
	if x.avx512 {
		return 16
	}
	return 8
}

func (x *x86) prefix() string {
	if x.avx512 {
		return "Z"
	}
	return "Y"
}

// Register plan. AVX-512: values Z0-Z15, accumulators Z16-Z23, scalars
// Z24-Z27, scratch Z28-Z31, masks K1-K7. AVX2: values Y0-Y7, masks Y8-Y9,
// accumulators Y10-Y11, scalar Y12, scratch Y13-Y15.
func (x *x86) vreg(i int) string {
	if !x.avx512 && i > 7 {
		panic(fmt.Sprintf("%s: AVX2 has only V0-V7", x.k.Name))
	}
	return fmt.Sprintf("%s%d", x.prefix(), i)
}

func (x *x86) mask(m Mask) string {
	if x.avx512 {
		return fmt.Sprintf("K%d", int(m)+1)
	}
	if m > 1 {
		panic(fmt.Sprintf("%s: AVX2 has only masks 0-1", x.k.Name))
	}
	return fmt.Sprintf("Y%d", 8+int(m))
}

func (x *x86) accReg(acc, half int) string {
	if x.avx512 {
		return fmt.Sprintf("Z%d", 16+2*acc+half)
	}
	if acc*2+half > 1 && x.k.Accs[acc].Kind == "f64" || acc > 1 {
		panic(fmt.Sprintf("%s: AVX2 has two accumulator registers", x.k.Name))
	}
	if x.k.Accs[acc].Kind == "f32" {
		return fmt.Sprintf("Y%d", 10+acc)
	}
	return fmt.Sprintf("Y%d", 10+half)
}

func (x *x86) scalarReg(i int) string {
	if x.avx512 {
		return fmt.Sprintf("Z%d", 24+i)
	}
	if i > 0 {
		panic("AVX2 kernels take one scalar")
	}
	return "Y12"
}

func (x *x86) scratch() string {
	var r string
	if x.avx512 {
		r = fmt.Sprintf("Z%d", 28+x.scr)
	} else {
		r = fmt.Sprintf("Y%d", 13+x.scr)
	}
	x.scr++
	return r
}

func (x *x86) half(reg string) string { // the low half of a vector register
	if x.avx512 {
		return "Y" + reg[1:]
	}
	return "X" + reg[1:]
}

func (x *x86) constAddr(o Operand) string {
	return fmt.Sprintf("vmconst<>+%d(SB)", 64*x.cs.id(o.bits))
}

// mem renders an operand that may be a memory operand. Constants come from
// a table of 64-byte rows: AVX2 reads the first 32 bytes, AVX-512 one
// float with embedded broadcast (.BCST), which never splits a cache line
// (the table is only 32-byte aligned).
func (x *x86) mem(o Operand) string {
	switch o.kind {
	case kConst:
		x.bcst = x.avx512
		return x.constAddr(o)
	case kScalar:
		return x.scalarReg(o.n)
	}
	return x.vreg(o.n)
}

// reg renders an operand that must be a register, loading constants into
// a scratch register.
func (x *x86) reg(o Operand) string {
	if o.kind == kConst {
		r := x.scratch()
		x.e.p("VBROADCASTSS %s, %s", x.constAddr(o), r)
		return r
	}
	return x.mem(o)
}

// emit writes one instruction, adding .BCST when it reads a constant.
func (x *x86) emit(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if x.bcst {
		i := strings.IndexByte(s, ' ')
		s = s[:i] + ".BCST" + s[i:]
		x.bcst = false
	}
	x.e.p("%s", s)
}

func same(a, b Operand) bool { return a.kind == kReg && b.kind == kReg && a.n == b.n }

func (x *x86) ptr(i int) string { return []string{"DI", "SI", "DX", "BX"}[i] }

func (x *x86) Load(d Operand, p int) {
	x.scr = 0
	x.e.p("VMOVUPS (%s), %s", x.ptr(p), x.vreg(d.n))
}

func (x *x86) Store(p int, s Operand) {
	x.scr = 0
	x.e.p("VMOVUPS %s, (%s)", x.vreg(s.n), x.ptr(p))
}

var x86Bin = map[string]string{
	"add": "VADDPS", "sub": "VSUBPS", "mul": "VMULPS", "div": "VDIVPS",
	"min": "VMINPS", "max": "VMAXPS", "and": "VANDPS", "or": "VORPS",
	"xor": "VXORPS", "andn": "VANDNPS", "iadd": "VPADDD", "isub": "VPSUBD",
}

var commutative = map[string]bool{"add": true, "mul": true, "and": true, "or": true, "xor": true, "iadd": true}

func (x *x86) Bin(op string, d, a, b Operand) {
	x.scr = 0
	if a.kind != kReg && b.kind == kReg && commutative[op] {
		a, b = b, a
	}
	ins := x86Bin[op]
	x.emit("%s %s, %s, %s", ins, x.mem(b), x.reg(a), x.vreg(d.n))
}

func (x *x86) fma(neg bool, d, a, b, c Operand) {
	x.scr = 0
	n := ""
	if neg {
		n = "N"
	}
	dr := x.vreg(d.n)
	switch {
	case same(d, c) && !same(d, a) && !same(d, b): // d = a*b + d
		if a.kind != kReg {
			a, b = b, a
		}
		x.emit("VF%sMADD231PS %s, %s, %s", n, x.mem(b), x.reg(a), dr)
	case same(d, a) || same(d, b):
		other := b
		if same(d, b) {
			other = a
		}
		if same(d, c) {
			panic("fma: d is both a factor and the addend")
		}
		if c.kind != kReg && other.kind == kReg || c.kind == kReg && other.kind == kReg {
			x.emit("VF%sMADD213PS %s, %s, %s", n, x.mem(c), x.reg(other), dr) // d = other*d + c
		} else {
			x.emit("VF%sMADD132PS %s, %s, %s", n, x.mem(other), x.reg(c), dr) // d = d*other + c
		}
	default: // d is none of them: copy a into d first
		if a.kind != kReg && b.kind == kReg {
			a, b = b, a
		}
		x.Mov(d, a)
		x.fma(neg, d, d, b, c)
	}
}

func (x *x86) FMA(d, a, b, c Operand)  { x.fma(false, d, a, b, c) }
func (x *x86) FNMA(d, a, b, c Operand) { x.fma(true, d, a, b, c) }

func (x *x86) Round(d, a Operand) {
	x.scr = 0
	if x.avx512 {
		x.e.p("VRNDSCALEPS $0, %s, %s", x.reg(a), x.vreg(d.n))
	} else {
		x.e.p("VROUNDPS $0, %s, %s", x.reg(a), x.vreg(d.n))
	}
}

func (x *x86) CvtFI(d, a Operand) { x.scr = 0; x.e.p("VCVTPS2DQ %s, %s", x.reg(a), x.vreg(d.n)) }
func (x *x86) CvtIF(d, a Operand) { x.scr = 0; x.e.p("VCVTDQ2PS %s, %s", x.reg(a), x.vreg(d.n)) }

func (x *x86) Shl(d, a Operand, imm int) {
	x.scr = 0
	x.e.p("VPSLLD $%d, %s, %s", imm, x.reg(a), x.vreg(d.n))
}

func (x *x86) Sar(d, a Operand, imm int) {
	x.scr = 0
	x.e.p("VPSRAD $%d, %s, %s", imm, x.reg(a), x.vreg(d.n))
}

// Ordered, signalling-free predicates (false on NaN).
var x86Pred = map[string]int{"eq": 0x00, "lt": 0x11, "le": 0x12, "gt": 0x1e, "ge": 0x1d}

func (x *x86) Cmp(pred string, m Mask, a, b Operand) {
	x.scr = 0
	x.emit("VCMPPS $%d, %s, %s, %s", x86Pred[pred], x.mem(b), x.reg(a), x.mask(m))
}

func (x *x86) Sel(d Operand, m Mask, a, b Operand) {
	x.scr = 0
	if x.avx512 {
		x.emit("VBLENDMPS %s, %s, %s, %s", x.mem(a), x.reg(b), x.mask(m), x.vreg(d.n))
	} else {
		x.emit("VBLENDVPS %s, %s, %s, %s", x.mask(m), x.mem(a), x.reg(b), x.vreg(d.n))
	}
}

func (x *x86) Scalef(d, p, n, t1, t2 Operand) {
	if !x.avx512 {
		scalefEmu(x, d, p, n, t1, t2)
		return
	}
	x.scr = 0
	x.e.p("VSCALEFPS %s, %s, %s", x.vreg(n.n), x.vreg(p.n), x.vreg(d.n))
}

func (x *x86) Mov(d, a Operand) {
	x.scr = 0
	if a.kind == kConst {
		x.e.p("VBROADCASTSS %s, %s", x.constAddr(a), x.vreg(d.n))
		return
	}
	x.e.p("VMOVUPS %s, %s", x.mem(a), x.vreg(d.n))
}

func (x *x86) widenHigh(s string) string { // the high half of s, in a scratch register
	r := x.scratch()
	if x.avx512 {
		x.e.p("VEXTRACTF32X8 $1, %s, %s", s, x.half(r))
	} else {
		x.e.p("VEXTRACTF128 $1, %s, %s", s, x.half(r))
	}
	return x.half(r)
}

func (x *x86) AccAddF64(acc int, s Operand) {
	x.scr = 0
	sr := x.vreg(s.n)
	t := x.scratch()
	x.e.p("VCVTPS2PD %s, %s", x.half(sr), t)
	x.e.p("VADDPD %s, %s, %s", t, x.accReg(acc, 0), x.accReg(acc, 0))
	hi := x.widenHigh(sr)
	x.e.p("VCVTPS2PD %s, %s", hi, t)
	x.e.p("VADDPD %s, %s, %s", t, x.accReg(acc, 1), x.accReg(acc, 1))
}

func (x *x86) AccDotF64(acc int, a, b Operand) {
	x.scr = 0
	ar, br := x.vreg(a.n), x.vreg(b.n)
	t0, t1 := x.scratch(), x.scratch()
	x.e.p("VCVTPS2PD %s, %s", x.half(ar), t0)
	x.e.p("VCVTPS2PD %s, %s", x.half(br), t1)
	x.e.p("VFMADD231PD %s, %s, %s", t1, t0, x.accReg(acc, 0))
	ha := x.widenHigh(ar)
	x.e.p("VCVTPS2PD %s, %s", ha, t0)
	x.scr--
	hb := x.widenHigh(br)
	x.e.p("VCVTPS2PD %s, %s", hb, t1)
	x.e.p("VFMADD231PD %s, %s, %s", t1, t0, x.accReg(acc, 1))
}

func (x *x86) AccMaxF32(acc int, s Operand) {
	x.scr = 0
	x.e.p("VMAXPS %s, %s, %s", x.vreg(s.n), x.accReg(acc, 0), x.accReg(acc, 0))
}

func (x *x86) AccAddF32(acc int, s Operand) {
	x.scr = 0
	x.e.p("VADDPS %s, %s, %s", x.vreg(s.n), x.accReg(acc, 0), x.accReg(acc, 0))
}

// function writes one kernel as a TEXT block.
func (x *x86) function(k Kernel) {
	x.k = k
	ptrOff, nOff, scOff, accOff, size := argLayout(k)
	w := x.Width()
	x.e.raw(fmt.Sprintf("\n// %s\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", goDecl(k, x.Name()), asmName(k, x.Name()), size))
	for i, name := range k.Ptrs {
		x.e.p("MOVQ %s+%d(FP), %s", name, ptrOff[i], x.ptr(i))
	}
	x.e.p("MOVQ n+%d(FP), CX", nOff)
	for i, name := range k.Scalars {
		x.e.p("VBROADCASTSS %s+%d(FP), %s", name, scOff[i], x.scalarReg(i))
	}
	for i, a := range k.Accs {
		if a.Kind == "f64" {
			for h := 0; h < 2; h++ {
				x.e.p("VXORPD %s, %s, %s", x.accReg(i, h), x.accReg(i, h), x.accReg(i, h))
			}
		} else {
			x.e.p("VBROADCASTSS %s, %s", x.constAddr(C(a.Init)), x.accReg(i, 0))
		}
	}
	x.e.raw("loop:\n")
	k.Body(x)
	for i := range k.Ptrs {
		x.e.p("ADDQ $%d, %s", 4*w, x.ptr(i))
	}
	x.e.p("SUBQ $%d, CX", w)
	x.e.p("JNZ loop")
	if len(k.Accs) > 0 {
		x.e.p("MOVQ acc+%d(FP), R8", accOff)
		for i, a := range k.Accs {
			x.e.p("VMOVUPS %s, %d(R8)", x.accReg(i, 0), i*8*w)
			if a.Kind == "f64" {
				x.e.p("VMOVUPS %s, %d(R8)", x.accReg(i, 1), i*8*w+4*w)
			}
		}
	}
	x.e.p("VZEROUPPER")
	x.e.p("RET")
}

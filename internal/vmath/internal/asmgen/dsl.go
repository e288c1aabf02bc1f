// Command asmgen writes internal/vmath's assembly kernels for amd64
// (AVX-512 and AVX2+FMA) and arm64 (NEON) from one description of each
// kernel, so the three paths compute exactly the same algorithm.
//
//	go run ./internal/vmath/internal/asmgen -out internal/vmath
//
// A kernel body is straight-line code over virtual vector registers (V),
// masks (M), constants (C) and scalar arguments (S); each backend maps
// these onto its registers and instructions. Go's arm64 assembler lacks
// most vector floating-point instructions, so the NEON backend emits them
// as WORD directives with the instruction in a comment.
package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Operand is a vector register, a constant or a scalar argument.
type Operand struct {
	kind int // kReg, kConst, kScalar
	n    int // register or scalar index
	bits uint32
}

const (
	kReg = iota
	kConst
	kScalar
)

// V is virtual vector register i.
func V(i int) Operand { return Operand{kind: kReg, n: i} }

// C is a float32 constant broadcast to every lane.
func C(f float32) Operand { return Operand{kind: kConst, bits: math.Float32bits(f)} }

// CI is an integer (bit pattern) constant broadcast to every lane.
func CI(u uint32) Operand { return Operand{kind: kConst, bits: u} }

// S is the i-th float32 scalar argument broadcast to every lane.
func S(i int) Operand { return Operand{kind: kScalar, n: i} }

// Mask is a virtual lane mask.
type Mask int

// Backend turns kernel operations into one instruction set's assembly.
type Backend interface {
	Name() string
	Width() int // float32 lanes per vector
	Load(d Operand, ptr int)
	Store(ptr int, s Operand)
	// Bin: add sub mul div min max (IEEE semantics of the target for
	// NaN in min/max: the kernels put the value that must propagate NaN
	// second) and or xor andn (andn = ^a & b) iadd isub.
	Bin(op string, d, a, b Operand)
	FMA(d, a, b, c Operand)  // a*b + c, one rounding
	FNMA(d, a, b, c Operand) // c - a*b, one rounding
	Round(d, a Operand)      // to nearest integer, ties to even
	CvtFI(d, a Operand)      // float holding an integer -> int32
	CvtIF(d, a Operand)      // int32 -> float
	Shl(d, a Operand, imm int)
	Sar(d, a Operand, imm int)
	Cmp(pred string, m Mask, a, b Operand) // lt le gt ge eq: m = a pred b (false on NaN)
	Sel(d Operand, m Mask, a, b Operand)   // d = m ? a : b
	// Scalef: d = p * 2**n for n a float integer in [-150, 129].
	Scalef(d, p, n, t1, t2 Operand)
	Mov(d, a Operand)
	AccAddF64(acc int, s Operand)    // float64 accumulator pair acc += widen(s)
	AccDotF64(acc int, a, b Operand) // acc += widen(a)*widen(b)
	AccMaxF32(acc int, s Operand)    // acc = max(acc, s)
	AccAddF32(acc int, s Operand)    // acc += s
}

// Kernel describes one assembly function.
type Kernel struct {
	Name    string
	Ptrs    []string // pointer arguments in order; the first is usually dst
	Scalars []string // float32 arguments after n
	// Accs are the accumulators (kept in registers across the loop and
	// stored to the trailing acc pointer argument): "f64" pairs (2 vectors
	// of float64 holding one float32 vector widened) or "f32" vectors with
	// an initial value.
	Accs []Acc
	Doc  string
	Body func(b Backend)
}

// Acc is an accumulator.
type Acc struct {
	Kind string // "f64" or "f32"
	Init float32
}

// consts collects every constant a backend uses, for the data tables.
type consts struct {
	index map[uint32]int
	list  []uint32
}

func (c *consts) id(bits uint32) int {
	if c.index == nil {
		c.index = map[uint32]int{}
	}
	if i, ok := c.index[bits]; ok {
		return i
	}
	c.index[bits] = len(c.list)
	c.list = append(c.list, bits)
	return len(c.list) - 1
}

// emitter accumulates lines of assembly.
type emitter struct {
	sb strings.Builder
}

func (e *emitter) p(format string, args ...any) {
	fmt.Fprintf(&e.sb, "\t"+format+"\n", args...)
}

func (e *emitter) raw(s string) { e.sb.WriteString(s) }

// argLayout gives the frame offsets of a kernel's arguments (ABI0):
// pointers, n, float32 scalars, then the acc pointer.
func argLayout(k Kernel) (ptrOff []int, nOff int, scalarOff []int, accOff, size int) {
	off := 0
	for range k.Ptrs {
		ptrOff = append(ptrOff, off)
		off += 8
	}
	nOff = off
	off += 8
	for range k.Scalars {
		scalarOff = append(scalarOff, off)
		off += 4
	}
	accOff = -1
	if len(k.Accs) > 0 {
		off = (off + 7) &^ 7
		accOff = off
		off += 8
	}
	return ptrOff, nOff, scalarOff, accOff, off
}

// goDecl is the Go signature of a kernel's assembly function.
func goDecl(k Kernel, suffix string) string {
	var args []string
	args = append(args, strings.Join(k.Ptrs, ", ")+" *float32", "n int")
	if len(k.Scalars) > 0 {
		args = append(args, strings.Join(k.Scalars, ", ")+" float32")
	}
	if len(k.Accs) > 0 {
		args = append(args, "acc *float64")
	}
	return fmt.Sprintf("func %s(%s)", asmName(k, suffix), strings.Join(args, ", "))
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// asmName is the Go name of a kernel's assembly function, e.g. asmExpAVX2.
func asmName(k Kernel, suffix string) string {
	return "asm" + strings.ToUpper(k.Name[:1]) + k.Name[1:] + suffix
}

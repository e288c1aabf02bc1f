package vmath

import (
	"math"
	"testing"
)

// FuzzUnaryBits checks every kernel on every path at arbitrary float32 bit
// patterns (NaN payloads, subnormals, values far outside the swept ranges)
// against the float64 reference, within the documented bound.
func FuzzUnaryBits(f *testing.F) {
	for _, u := range []uint32{0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0x00000001, 0x807fffff, 0x3f800000, 0xbf800000, 0x42b17218, 0xc2ce0000, 0x3f200000} {
		f.Add(u, u^0x80000000)
	}
	orig := Path()
	defer SetPath(orig)
	f.Fuzz(func(t *testing.T, u1, u2 uint32) {
		// 17 lanes: a whole vector on every path plus a tail.
		in := make([]float32, 17)
		for i := range in {
			if i%2 == 0 {
				in[i] = math.Float32frombits(u1)
			} else {
				in[i] = math.Float32frombits(u2 + uint32(i))
			}
		}
		out := make([]float32, len(in))
		for _, p := range builtPaths() {
			if err := SetPath(p); err != nil {
				t.Fatal(err)
			}
			for _, c := range unaryCases {
				c.f(out, in)
				for i, x := range in {
					if e := ulpErr(out[i], c.ref(float64(x))); e > c.bound {
						t.Fatalf("%s %s(%g [%#08x]) = %g, want %g (%.2f ulp)", p, c.name, x, math.Float32bits(x), out[i], c.ref(float64(x)), e)
					}
				}
			}
		}
	})
}

// FuzzActivationBits checks the activation kernels on every path at
// arbitrary bit patterns of x (or y, or the forward input a), g and alpha
// against their scalar definitions, exactly.
func FuzzActivationBits(f *testing.F) {
	for _, u := range actSpecials {
		f.Add(u, u^0x80000000, uint32(0x3e4ccccd))
	}
	f.Add(uint32(0xbf800000), uint32(0x7f800000), uint32(0x7f800000))
	orig := Path()
	defer SetPath(orig)
	f.Fuzz(func(t *testing.T, u1, u2, ua uint32) {
		// 19 lanes: a whole vector on every path plus a tail; lanes vary
		// the patterns so one input covers both signs and neighbours.
		x, g := make([]float32, 19), make([]float32, 19)
		for i := range x {
			x[i] = math.Float32frombits(u1 ^ uint32(i&1)<<31 + uint32(i/2))
			g[i] = math.Float32frombits(u2 + uint32(i))
		}
		alpha := math.Float32frombits(ua)
		for _, p := range builtPaths() {
			if err := SetPath(p); err != nil {
				t.Fatal(err)
			}
			for _, c := range actCases {
				checkAct(t, c, x, g, alpha)
			}
		}
	})
}

//go:build linux && abiprobe && (amd64 || arm64)

package mtl

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run with -tags abiprobe (as .ci/run does): the tag keeps purego out of
// non-test Linux builds, so users' binaries stay statically linked.
//
// abiSource has one C function per kind of typed send, with the C types
// Apple declares (NSUInteger = uint64_t, BOOL = bool on arm64, MTLSize a
// struct of three NSUInteger, CFTimeInterval = double). Each records the
// arguments it received and returns a value derived from them.
//
// The ABI for these types is the same on linux/amd64 and darwin/amd64
// (System V) and on linux/arm64 and darwin/arm64 for at most 8 register
// arguments (AAPCS64; Apple differs in packing stack and variadic
// arguments, which no send uses). So registering the send table through
// registerSends against these functions checks, on Linux, exactly the purego
// conversions the darwin table relies on, including MTLSize passed and
// returned by value. (On darwin/amd64 a struct result goes through
// objc_msgSend_stret, which has the C convention tested here.)
//
// To run the arm64 check on an amd64 Linux machine (Debian packages
// gcc-aarch64-linux-gnu and qemu-user-static):
//
//	CGO_ENABLED=0 GOARCH=arm64 go test -c -o /tmp/mtl-arm64.test ./metal/mtl
//	CC=aarch64-linux-gnu-gcc QEMU_LD_PREFIX=/usr/aarch64-linux-gnu \
//	  qemu-aarch64-static /tmp/mtl-arm64.test -test.run ABI -test.v
const abiSource = `
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>

typedef uintptr_t id;
typedef struct { uint64_t width, height, depth; } MTLSize;

static uint64_t rec[16];
static int nrec;
static void r(uint64_t v) { if (nrec < 16) rec[nrec++] = v; }
int take(uint64_t *out) { int n = nrec; memcpy(out, rec, sizeof rec); nrec = 0; return n; }

id k_id(id o, id s) { r(o); r(s); return o + s; }
void k_v(id o, id s) { r(o); r(s); }
uint64_t k_u64(id o, id s) { r(o); r(s); return 0x123456789abcdef0ull; }
bool k_boolean(id o, id s) { r(o); r(s); return o == 7; }
double k_f64(id o, id s) { r(o); r(s); return (double)o / 4.0; }
void *k_ptr(id o, id s) { r(o); r(s); return (void *)(o * 16); }
const char *k_str(id o, id s) { static char buf[64]; r(o); r(s); snprintf(buf, sizeof buf, "object %lu", (unsigned long)o); return buf; }
MTLSize k_size(id o, id s) { r(o); r(s); MTLSize m = {o, s, 1u << 31}; return m; }

id k_idStr(id o, id s, const char *str) { r(o); r(s); r(strlen(str)); return (id)(unsigned char)str[0]; }
id k_idID(id o, id s, id a) { r(o); r(s); r(a); return a * 3; }
id k_idU64(id o, id s, uint64_t a) { r(o); r(s); r(a); return a + 1; }
bool k_boolU64(id o, id s, uint64_t a) { r(o); r(s); r(a); return a == 1007; }
bool k_boolID(id o, id s, id a) { r(o); r(s); r(a); return a == 42; }
void k_vID(id o, id s, id a) { r(o); r(s); r(a); }
void k_vU64(id o, id s, uint64_t a) { r(o); r(s); r(a); }
void k_vBool(id o, id s, bool a) { r(o); r(s); r(a ? 1 : 0); }

id k_idIDErr(id o, id s, id a, id *err) { r(o); r(s); r(a); *err = 0xe77; return a + 5; }
id k_idU64U64(id o, id s, uint64_t a, uint64_t b) { r(o); r(s); r(a); r(b); return a ^ b; }
void k_vU64U64(id o, id s, uint64_t a, uint64_t b) { r(o); r(s); r(a); r(b); }
void k_vSizeSize(id o, id s, MTLSize a, MTLSize b) {
	r(o); r(s); r(a.width); r(a.height); r(a.depth); r(b.width); r(b.height); r(b.depth);
}

id k_idIDIDErr(id o, id s, id a, id b, id *err) { r(o); r(s); r(a); r(b); *err = 0xbad; return 0; }
void k_vIDU64U64(id o, id s, id a, uint64_t b, uint64_t c) { r(o); r(s); r(a); r(b); r(c); }
void k_vPtrU64U64(id o, id s, const void *p, uint64_t n, uint64_t i) {
	uint64_t sum = 0;
	for (uint64_t j = 0; j < n; j++) sum = sum * 31 + ((const unsigned char *)p)[j];
	r(o); r(s); r(sum); r(n); r(i);
}
`

// abiLibrary builds the probe library and opens it.
func abiLibrary(t testing.TB) uintptr {
	compiler := os.Getenv("CC") // e.g. aarch64-linux-gnu-gcc when run under qemu
	if compiler == "" {
		compiler = "cc"
	}
	cc, err := exec.LookPath(compiler)
	if err != nil {
		t.Skipf("needs a C compiler (%s) to build the ABI probe library", compiler)
	}
	dir := t.TempDir()
	src, lib := filepath.Join(dir, "abi.c"), filepath.Join(dir, "libabi.so")
	require.NoError(t, os.WriteFile(src, []byte(abiSource), 0o644))
	out, err := exec.Command(cc, "-shared", "-fPIC", "-O2", "-o", lib, src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	require.NoError(t, err)
	t.Cleanup(func() { purego.Dlclose(h) })
	return h
}

func abiSends(t testing.TB, h uintptr) *sends {
	var s sends
	require.NoError(t, registerSends(&s, func(k sendKind) uintptr {
		p, err := purego.Dlsym(h, "k_"+string(k))
		require.NoError(t, err)
		return p
	}))
	return &s
}

// BenchmarkSend measures the cost of one typed send through purego (to a C
// function that records its arguments): the per-message overhead the driver
// pays on a Mac on top of objc_msgSend itself.
func BenchmarkSend(b *testing.B) {
	s := abiSends(b, abiLibrary(b))
	b.Run("v", func(b *testing.B) {
		for range b.N {
			s.v(7, 1)
		}
	})
	b.Run("vIDU64U64", func(b *testing.B) {
		for range b.N {
			s.vIDU64U64(7, 1, 2, 3, 4)
		}
	})
	b.Run("vSizeSize", func(b *testing.B) {
		for range b.N {
			s.vSizeSize(7, 1, MTLSize{1, 2, 3}, MTLSize{4, 5, 6})
		}
	})
}

func TestSendABIWithPurego(t *testing.T) {
	h := abiLibrary(t)
	var take func(out *[16]uint64) int32
	purego.RegisterLibFunc(&take, h, "take")
	got := func() []uint64 {
		var rec [16]uint64
		n := take(&rec)
		return append([]uint64(nil), rec[:n]...)
	}

	s := abiSends(t, h)

	const o, sel = uintptr(7), uintptr(0x5e1)
	big := uint64(1)<<63 | 5

	assert.Equal(t, o+sel, s.id(o, sel))
	assert.Equal(t, []uint64{7, 0x5e1}, got())
	s.v(o, sel)
	assert.Equal(t, []uint64{7, 0x5e1}, got())
	assert.Equal(t, uint64(0x123456789abcdef0), s.u64(o, sel))
	got()
	assert.True(t, s.boolean(o, sel))
	assert.False(t, s.boolean(8, sel))
	got()
	assert.Equal(t, 1.75, s.f64(o, sel))
	got()
	assert.Equal(t, uintptr(7*16), uintptr(s.ptr(o, sel)))
	got()
	assert.Equal(t, "object 7", s.str(o, sel))
	got()
	assert.Equal(t, MTLSize{7, 0x5e1, 1 << 31}, s.size(o, sel), "MTLSize returned by value")
	assert.Equal(t, []uint64{7, 0x5e1}, got())

	assert.Equal(t, uintptr('k'), s.idStr(o, sel, "kernel void"))
	assert.Equal(t, []uint64{7, 0x5e1, 11}, got())
	assert.Equal(t, uintptr(3*0xabc), s.idID(o, sel, 0xabc))
	assert.Equal(t, []uint64{7, 0x5e1, 0xabc}, got())
	assert.Equal(t, uintptr(big+1), s.idU64(o, sel, big))
	assert.Equal(t, []uint64{7, 0x5e1, big}, got())
	assert.True(t, s.boolU64(o, sel, 1007))
	assert.False(t, s.boolU64(o, sel, 1006))
	got()
	assert.True(t, s.boolID(o, sel, 42))
	got()
	s.vID(o, sel, 0xdead)
	assert.Equal(t, []uint64{7, 0x5e1, 0xdead}, got())
	s.vU64(o, sel, languageVersion3_0)
	assert.Equal(t, []uint64{7, 0x5e1, 196608}, got())
	s.vBool(o, sel, false)
	s.vBool(o, sel, true)
	assert.Equal(t, []uint64{7, 0x5e1, 0, 7, 0x5e1, 1}, got())

	var nserr uintptr
	assert.Equal(t, uintptr(0x105), s.idIDErr(o, sel, 0x100, &nserr))
	assert.Equal(t, uintptr(0xe77), nserr, "NSError** out-parameter written")
	assert.Equal(t, []uint64{7, 0x5e1, 0x100}, got())
	assert.Equal(t, uintptr(big^3), s.idU64U64(o, sel, big, 3))
	assert.Equal(t, []uint64{7, 0x5e1, big, 3}, got())
	s.vU64U64(o, sel, 4096, 2)
	assert.Equal(t, []uint64{7, 0x5e1, 4096, 2}, got())
	s.vSizeSize(o, sel, MTLSize{5, 3, 2}, MTLSize{32, 2, 1 << 40})
	assert.Equal(t, []uint64{7, 0x5e1, 5, 3, 2, 32, 2, 1 << 40}, got(), "two MTLSize arguments by value")

	nserr = 0
	assert.Zero(t, s.idIDIDErr(o, sel, 0xa, 0xb, &nserr))
	assert.Equal(t, uintptr(0xbad), nserr)
	assert.Equal(t, []uint64{7, 0x5e1, 0xa, 0xb}, got())
	s.vIDU64U64(o, sel, 0xb0f, 64, 30)
	assert.Equal(t, []uint64{7, 0x5e1, 0xb0f, 64, 30}, got())
	bytes := []byte{1, 2, 3, 250}
	s.vPtrU64U64(o, sel, unsafe.Pointer(&bytes[0]), uint64(len(bytes)), 1)
	want := uint64(0)
	for _, b := range bytes {
		want = want*31 + uint64(b)
	}
	assert.Equal(t, []uint64{7, 0x5e1, want, 4, 1}, got())
}

package emu

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

func TestRewriteKeepsLines(t *testing.T) {
	src := "kernel void k(device float* x [[buffer(0)]],\n  uint i [[thread_position_in_grid]]) {\n" +
		"  threadgroup float tile[4][\n 8];\n  float y = 1.0 + .5 + 2e3 + 1.0f + 0x1p3 + 3;\n  x[i] = y * tile[0][0];\n}\n"
	p, err := parseSource("a.metal", src)
	require.NoError(t, err)
	assert.Equal(t, strings.Count(src, "\n"), strings.Count(p.out, "\n"), "same number of lines")
	assert.NotContains(t, p.out, "[[")
	assert.Contains(t, p.out, "float y = 1.0f + .5f + 2e3f + 1.0f + 0x1p3f + 3;", "unsuffixed float literals become float")
	assert.Contains(t, p.out, "typedef float emu_tgt_tile [4][\n 8];")
	assert.Contains(t, p.out, `emu_tg_static(sizeof(emu_tgt_tile), alignof(emu_tgt_tile), &emu_tgk_tile, "tile");`)
	lines := strings.Split(p.out, "\n")
	assert.Contains(t, lines[4], "float y", "the statement after the threadgroup declaration stays on its line")
	require.Len(t, p.entries, 1)
	assert.Equal(t, "k", p.entries[0].host)
	assert.Equal(t, []param{{name: "x", kind: pBuffer, index: 0}, {name: "i", kind: pAttr, attr: "EMU_A_TPIG"}}, p.kernels[0].params)
}

func TestThreadgroupPointersAreNotDeclarations(t *testing.T) {
	src := "void f(threadgroup float* p) {\n  threadgroup float* q = p + 1;\n  threadgroup float &r = *p;\n  q[0] = r;\n}\n"
	p, err := parseSource("a.metal", src)
	require.NoError(t, err)
	assert.Equal(t, src, p.out)
}

func TestInstantiations(t *testing.T) {
	src := `template <typename T, int N>
[[kernel]] void f(device T* x [[buffer(0)]], threadgroup T* s [[threadgroup(1)]], uint i [[thread_index_in_threadgroup]]) {}
template [[host_name("f_float_4")]] [[kernel]] void f<float, 4>(device float*, threadgroup float*, uint);
template [[host_name("f_int_8")]] [[kernel]] decltype(f<int, 8>) f<int, 8>;
[[max_total_threads_per_threadgroup(128)]] kernel void g(device float* x [[buffer(2)]]) {}
`
	p, err := parseSource("t.metal", src)
	require.NoError(t, err)
	require.Len(t, p.kernels, 2)
	assert.True(t, p.kernels[0].template)
	assert.Equal(t, []param{{name: "x", kind: pBuffer}, {name: "s", kind: pThreadgroup, index: 1}, {name: "i", kind: pAttr, attr: "EMU_A_TINDEX"}}, p.kernels[0].params)
	assert.Equal(t, 128, p.kernels[1].maxThreads)
	var hosts, fns []string
	for _, e := range p.entries {
		hosts = append(hosts, e.host)
		fns = append(fns, e.fn)
	}
	assert.Equal(t, []string{"f_float_4", "f_int_8", "g"}, hosts)
	assert.Equal(t, []string{"f<float, 4>", "f<int, 8>", "g"}, fns)
}

func TestRecursionCheck(t *testing.T) {
	cases := []struct {
		src string
		ok  bool
	}{
		{"float f(float x) { return f(x); }", false},
		{"float a(float x); float b(float x) { return a(x); }\nfloat a(float x) { return b(x); }", false},
		// overloads by arity are distinct functions
		{"float f(float x) { return x; }\nfloat f(float x, float y) { return f(x) + f(y); }", true},
		// same name and arity overloaded (float4 vs float): not resolvable, not flagged
		{"float f(float x) { return x; }\nfloat4 f(float4 v) { return float4(f(v.x), f(v.y), f(v.z), f(v.w)); }", true},
		{"struct S { float g(float x) { return x; } float h(float x) { return g(x); } };", true},
	}
	for _, c := range cases {
		_, err := parseSource("r.metal", c.src)
		if c.ok {
			assert.NoError(t, err, c.src)
		} else {
			assert.ErrorContains(t, err, "recursion", c.src)
		}
	}
}

func TestSwizzleHeader(t *testing.T) {
	h := swizzleHeader()
	assert.Contains(t, h, "swz<T, 2, 1, 0> yx;")
	assert.Contains(t, h, "swz<T, 4, 3, 2, 1, 0> wzyx;")
	assert.Contains(t, h, "swz<T, 4, 0, 1, 2> xyz;")
	assert.NotContains(t, strings.SplitN(h, "EMU_SWIZZLES_3", 2)[0], " w", "2-vectors have no z/w swizzles")
}

func FuzzParseSource(f *testing.F) {
	for _, name := range []string{"kernels.metal", "broken.metal"} {
		b, err := os.ReadFile("testdata/" + name)
		require.NoError(f, err)
		f.Add(string(b))
	}
	f.Add("kernel")
	f.Add("template [[host_name(\"x\")]] kernel void")
	f.Add("threadgroup float a[")
	f.Add("[[kernel]] void f(")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := parseSource("f.metal", src)
		if err != nil {
			return
		}
		if strings.Count(p.out, "\n") != strings.Count(src, "\n") {
			t.Fatalf("line count changed: %d -> %d", strings.Count(src, "\n"), strings.Count(p.out, "\n"))
		}
		defs := map[string]kernelFn{}
		for _, k := range p.kernels {
			defs[k.name] = k
		}
		_, _ = entryCode(p.entries, defs)
	})
}

// TestConcurrentBuildsShareOneLibrary builds the same new library from
// several goroutines at once (as concurrent test processes would): all get
// the same complete file, built once under the lock.
func TestConcurrentBuildsShareOneLibrary(t *testing.T) {
	tc, err := findToolchain()
	require.NoError(t, err)
	own := *tc
	own.cache = t.TempDir()
	src := []driver.Source{{Name: "c.metal", Text: "#include <metal_stdlib>\nusing namespace metal;\nkernel void k(device float* x [[buffer(0)]]) { x[0] = 1.0; }\n"}}
	const n = 4
	paths := make([]string, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := 0; i < n; i++ {
		go func(i int) {
			paths[i], errs[i] = own.buildLibrary(src)
			done <- i
		}(i)
	}
	for i := 0; i < n; i++ {
		<-done
	}
	for i := 0; i < n; i++ {
		require.NoError(t, errs[i])
		assert.Equal(t, paths[0], paths[i])
	}
	entries, err := os.ReadDir(own.cache)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Len(t, names, 2, "one library and its lock file, no leftovers: %v", names)
	st, err := os.Stat(paths[0])
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(1000))
}

func TestNoCompilerError(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CXX", "")
	_, err := newToolchain()
	require.Error(t, err)
	assert.Equal(t, "MSL emulator needs a C++ compiler (g++ or clang++): apt-get install g++", err.Error())
}

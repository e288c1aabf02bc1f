package safetensors

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchFile is a 64 MiB F32 model: 16 tensors of 1M random floats (random
// mantissas compress poorly, like trained weights).
func benchFile(b *testing.B) *File {
	r := rand.New(rand.NewPCG(9, 9))
	f := &File{Metadata: map[string]string{"ingot.family": "bench"}}
	for i := range 16 {
		v := make([]float32, 1<<20)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		if err := f.AddFloat32(string(rune('a'+i))+".weight", []int{1024, 1024}, v, F32); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

func benchmarkFile(b *testing.B, name string) {
	f := benchFile(b)
	p := filepath.Join(b.TempDir(), name)
	b.Run("write", func(b *testing.B) {
		b.SetBytes(64 << 20)
		for b.Loop() {
			if err := WriteFile(p, f); err != nil {
				b.Fatal(err)
			}
		}
		if st, err := os.Stat(p); err == nil {
			b.ReportMetric(float64(st.Size())/float64(64<<20), "size-ratio")
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(64 << 20)
		for b.Loop() {
			if _, err := ReadFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPlain(b *testing.B) { benchmarkFile(b, "m.safetensors") }
func BenchmarkZstd(b *testing.B)  { benchmarkFile(b, "m.safetensors.zst") }

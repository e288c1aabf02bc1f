package safetensors

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingWriter accepts n bytes, then fails: a disk filling up mid-save.
type failingWriter struct {
	w io.Writer
	n int
}

var errDiskFull = errors.New("simulated: no space left on device")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		m, _ := f.w.Write(p[:f.n])
		f.n = 0
		return m, errDiskFull
	}
	f.n -= len(p)
	return f.w.Write(p)
}

func dirNames(t *testing.T, dir string) []string {
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestWriteFileFailureKeepsPrevious: a save that fails part-way (after 0,
// some, or most bytes), or is refused up front, leaves the previous file
// byte-for-byte intact and no temporary file behind.
func TestWriteFileFailureKeepsPrevious(t *testing.T) {
	next := sampleFile(t)
	noise := make([]float32, 1<<14) // incompressible, so the zstd file is > 40000 bytes too
	r := rand.New(rand.NewPCG(7, 8))
	for i := range noise {
		noise[i] = r.Float32()
	}
	require.NoError(t, next.AddFloat32("extra", []int{1 << 14}, noise, F32))
	for _, name := range []string{"m.safetensors", "m.safetensors.zst"} {
		for _, after := range []int{0, 100, 40000} {
			t.Run(fmt.Sprintf("%s/fail after %d bytes", name, after), func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, name)
				prev := &File{Metadata: map[string]string{"v": "1"}}
				require.NoError(t, prev.AddFloat32("w", []int{2}, []float32{1, 2}, F32))
				require.NoError(t, WriteFile(p, prev))
				before, err := os.ReadFile(p)
				require.NoError(t, err)

				err = writeFile(p, next, func(w io.Writer) io.Writer { return &failingWriter{w: w, n: after} })
				require.ErrorIs(t, err, errDiskFull)
				assert.ErrorContains(t, err, p)
				assert.ErrorContains(t, err, "left unchanged")

				now, err := os.ReadFile(p)
				require.NoError(t, err)
				assert.Equal(t, before, now, "previous file changed")
				assert.Equal(t, []string{name}, dirNames(t, dir), "temporary file left behind")
				got, err := ReadFile(p)
				require.NoError(t, err)
				requireSameFile(t, prev, got)
			})
		}
	}
	t.Run("inconsistent file refused", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "m.safetensors.zst")
		require.NoError(t, WriteFile(p, sampleFile(t)))
		before, _ := os.ReadFile(p)
		bad := &File{Tensors: map[string]Tensor{"w": {DType: F32, Shape: []int{2}, Data: []byte{1}}}}
		err := WriteFile(p, bad)
		require.ErrorIs(t, err, ErrFormat)
		assert.ErrorContains(t, err, `tensor "w"`)
		now, _ := os.ReadFile(p)
		assert.Equal(t, before, now)
		assert.Equal(t, []string{"m.safetensors.zst"}, dirNames(t, dir))
	})
}

func TestWriteFileReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which ignores directory permissions; the failing-writer test covers the same path")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	require.NoError(t, WriteFile(p, sampleFile(t)))
	before, _ := os.ReadFile(p)
	require.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	err := WriteFile(p, &File{})
	require.Error(t, err)
	assert.ErrorContains(t, err, p)
	now, _ := os.ReadFile(p)
	assert.Equal(t, before, now)
	assert.Equal(t, []string{"m.safetensors"}, dirNames(t, dir))
}

func TestWriteFileMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "m.safetensors")
	err := WriteFile(p, &File{})
	require.Error(t, err)
	assert.ErrorContains(t, err, p)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestWriteFileReplacesAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors.zst")
	a := &File{Metadata: map[string]string{"v": "1"}}
	require.NoError(t, WriteFile(p, a))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	require.NoError(t, os.Chmod(p, 0o600))
	b := sampleFile(t)
	require.NoError(t, WriteFile(p, b))
	st, err = os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	got, err := ReadFile(p)
	require.NoError(t, err)
	requireSameFile(t, b, got)
	assert.Equal(t, []string{"m.safetensors.zst"}, dirNames(t, dir))
}

// TestReadFileDetectsByMagic: the content decides, not the extension.
func TestReadFileDetectsByMagic(t *testing.T) {
	dir := t.TempDir()
	f := sampleFile(t)
	zAsPlain := filepath.Join(dir, "z.safetensors")
	require.NoError(t, os.WriteFile(zAsPlain, encodedZstd(t, f), 0o644))
	plainAsZ := filepath.Join(dir, "p.safetensors.zst")
	require.NoError(t, os.WriteFile(plainAsZ, encoded(t, f), 0o644))
	for _, p := range []string{zAsPlain, plainAsZ} {
		got, err := ReadFile(p)
		require.NoError(t, err, p)
		requireSameFile(t, f, got)
	}
	_, err := ReadFile(filepath.Join(dir, "missing.safetensors"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// blockingWriter passes n bytes, then announces it by creating marker and
// blocks forever, so the test can kill the process in the middle of a save.
type blockingWriter struct {
	w      io.Writer
	n      int
	marker string
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	if len(p) > b.n {
		m, _ := b.w.Write(p[:b.n])
		b.w.(*os.File).Sync()
		os.WriteFile(b.marker, nil, 0o644)
		_ = m
		select {}
	}
	b.n -= len(p)
	return b.w.Write(p)
}

// TestInterruptedSaveKeepsPrevious kills (SIGKILL) a process in the middle of
// WriteFile: the previous file must be intact and readable; the only trace is
// a stray temporary file.
func TestInterruptedSaveKeepsPrevious(t *testing.T) {
	if dir := os.Getenv("SAFETENSORS_INTERRUPT_DIR"); dir != "" {
		big := &File{}
		noise := make([]byte, 1<<20)
		for i := range noise {
			noise[i] = byte(i * 7)
		}
		big.Add("noise", Tensor{DType: U8, Shape: []int{len(noise)}, Data: noise})
		writeFile(filepath.Join(dir, "m.safetensors"), big, func(w io.Writer) io.Writer {
			return &blockingWriter{w: w, n: 5000, marker: filepath.Join(dir, "marker")}
		})
		os.Exit(3) // not reached: the parent kills us
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	prev := sampleFile(t)
	require.NoError(t, WriteFile(p, prev))
	before, err := os.ReadFile(p)
	require.NoError(t, err)

	cmd := exec.Command(os.Args[0], "-test.run=^TestInterruptedSaveKeepsPrevious$")
	cmd.Env = append(os.Environ(), "SAFETENSORS_INTERRUPT_DIR="+dir)
	require.NoError(t, cmd.Start())
	marker := filepath.Join(dir, "marker")
	for i := 0; ; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if i > 6000 { // 60 s: the child did not get there; fail rather than hang
			cmd.Process.Kill()
			t.Fatal("child never reached the middle of its save")
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()

	now, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, before, now, "previous file changed by an interrupted save")
	got, err := ReadFile(p)
	require.NoError(t, err)
	requireSameFile(t, prev, got)
	var stray []string
	for _, n := range dirNames(t, dir) {
		if n != "m.safetensors" && n != "marker" {
			stray = append(stray, n)
		}
	}
	require.Len(t, stray, 1, "one temporary file from the killed save")
	assert.Regexp(t, `^\.m\.safetensors\.tmp`, stray[0])
	partial, err := os.ReadFile(filepath.Join(dir, stray[0]))
	require.NoError(t, err)
	assert.Len(t, partial, 5000, "the killed save got part-way")
}

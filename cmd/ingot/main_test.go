package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ingot runs the command line in-process.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestInfo(t *testing.T) {
	code, out, _ := runCLI("info", "--json")
	require.Equal(t, 0, code)
	var r infoReport
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.NotEmpty(t, r.Devices)
	var cpu *deviceInfo
	for i := range r.Devices {
		if r.Devices[i].Name == "cpu" {
			cpu = &r.Devices[i]
		}
	}
	require.NotNil(t, cpu)
	assert.True(t, cpu.Available)
	assert.Contains(t, r.CPUPaths, "generic")
	assert.Contains(t, r.CPUPaths, r.GEMMPath)

	t.Setenv("INGOT_DEVICE", "cpu")
	code, out, _ = runCLI("info")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "* cpu")
	assert.Contains(t, out, "metal")
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"info", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"info", "extra"}, 2, `unexpected argument "extra"`},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.Equal(t, c.code, code, "%v", c.args)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
		assert.NotContains(t, stderr, "goroutine", "no stack traces")
	}
	code, out, _ := runCLI("info", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: ingot info")
	code, out, _ = runCLI("help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Commands:")
}

func TestUnknownDeviceIsAnError(t *testing.T) {
	t.Setenv("INGOT_DEVICE", "tpu")
	code, _, stderr := runCLI("info")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `INGOT_DEVICE=tpu: tensor: unknown device "tpu"`)
}

func TestBenchGEMM(t *testing.T) {
	code, out, stderr := runCLI("bench", "gemm", "--sizes", "32,8x16x4", "--repeat", "1", "--paths", "generic", "--json")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4) // generic and gonum for each of two shapes
	var row map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &row))
	for _, k := range []string{"name", "m", "n", "k", "threads", "gflops_median", "gflops_best", "ms_median"} {
		assert.Contains(t, row, k)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"bench", "gemm", "--sizes", "0x3"}, "--sizes"},
		{[]string{"bench", "gemm", "--repeat", "0"}, "--repeat must be at least 1"},
		{[]string{"bench", "gemm", "--device", "tpu"}, "--device must be cpu, metal or all"},
		{[]string{"bench", "gemm", "--paths", "sse9"}, `no "sse9" path`},
		{[]string{"bench", "nothing"}, `unknown benchmark "nothing"`},
		{[]string{"train", "nomodel"}, `unknown model "nomodel"`},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
	}
}

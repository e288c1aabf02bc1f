package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/ingotml/ingot"
	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/ingotml/ingot/internal/gemm"
	"github.com/ingotml/ingot/internal/parallel"
	_ "github.com/ingotml/ingot/metal" // registers the "metal" device
	"github.com/ingotml/ingot/tensor"
)

func init() {
	register(&command{name: "info", summary: "show the version, devices and CPU features", run: runInfo})
}

// deviceInfo is one device line of `ingot info`.
type deviceInfo struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Default   bool   `json:"default"`
	Detail    string `json:"detail"`
}

type infoReport struct {
	Version     string       `json:"version"`
	Go          string       `json:"go"`
	Platform    string       `json:"platform"`
	CPUFeatures []string     `json:"cpu_features"`
	CPUPaths    []string     `json:"cpu_kernel_paths"`
	GEMMPath    string       `json:"gemm_path"`
	Threads     int          `json:"threads"`
	Devices     []deviceInfo `json:"devices"`
}

func runInfo(args []string, out io.Writer) error {
	fs := newFlags("info", "ingot info [--json]", "  ingot info\n  INGOT_DEVICE=cpu ingot info --json\n", out)
	asJSON := fs.Bool("json", false, "print a JSON object instead of text")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	r := infoReport{
		Version:     ingot.Version,
		Go:          runtime.Version(),
		Platform:    runtime.GOOS + "/" + runtime.GOARCH,
		CPUFeatures: cpufeat.Features(),
		GEMMPath:    string(gemm.Path()),
		Threads:     parallel.Threads(),
	}
	for _, p := range cpufeat.Available() {
		r.CPUPaths = append(r.CPUPaths, string(p))
	}
	def, defErr := tensor.Default()
	for _, n := range tensor.DeviceNames() {
		di := deviceInfo{Name: n}
		d, err := tensor.GetDevice(n)
		switch {
		case err == nil:
			di.Available = true
			di.Default = d == def
			di.Detail = describe(d)
		default:
			if cause := errors.Unwrap(err); cause != nil {
				err = cause // "device metal unavailable: …" is what the column says already
			}
			di.Detail = err.Error()
		}
		r.Devices = append(r.Devices, di)
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(out, "ingot %s (%s, %s)\n", r.Version, r.Go, r.Platform)
	fmt.Fprintf(out, "CPU features:  %s\n", strings.Join(r.CPUFeatures, " "))
	fmt.Fprintf(out, "CPU kernels:   %s (available: %s); %d threads\n", r.GEMMPath, strings.Join(r.CPUPaths, ", "), r.Threads)
	fmt.Fprintln(out, "Devices:")
	for _, d := range r.Devices {
		mark := " "
		if d.Default {
			mark = "*"
		}
		state := "available"
		if !d.Available {
			state = "unavailable"
		}
		fmt.Fprintf(out, "  %s %-6s %-11s %s\n", mark, d.Name, state, d.Detail)
	}
	if defErr != nil {
		return defErr
	}
	fmt.Fprintln(out, "(* = default; set INGOT_DEVICE to choose)")
	return nil
}

// describe summarises an open device.
func describe(d tensor.Device) string {
	if s, ok := d.(fmt.Stringer); ok {
		return s.String()
	}
	if d.Name() == "cpu" {
		return fmt.Sprintf("pure Go + %s assembly, %d threads", gemm.Path(), parallel.Threads())
	}
	return d.Name()
}

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ingotml/ingot/tensor"
)

// Helpers every model family's commands share.

// openDevice resolves a --device flag: auto (INGOT_DEVICE or the best
// device that opens here), cpu or metal.
func openDevice(name string) (tensor.Device, error) {
	switch name {
	case "auto", "":
		return tensor.Default()
	case "cpu":
		return tensor.CPU(), nil
	case "metal":
		return tensor.GetDevice("metal")
	}
	return nil, usagef("--device %q: want auto, cpu or metal (unknown device %q)", name, name)
}

// interruptible returns a context cancelled by Ctrl-C or SIGTERM, so a
// training run can save a checkpoint and stop cleanly.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

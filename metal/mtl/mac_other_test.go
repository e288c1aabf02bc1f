//go:build !darwin

package mtl

import "testing"

// The GPU self-checks of mac_test.go, skipped where there is no Metal.

const macSkipReason = "needs macOS with an Apple-silicon GPU"

func TestMacInfo(t *testing.T)             { t.Skip(macSkipReason) }
func TestMacGridAndThreadIDs(t *testing.T) { t.Skip(macSkipReason) }
func TestMacBufferRoundTrip(t *testing.T)  { t.Skip(macSkipReason) }
func TestMacCompileError(t *testing.T)     { t.Skip(macSkipReason) }
func TestMacWrongThread(t *testing.T)      { t.Skip(macSkipReason) }

package vae_test

import (
	"testing"

	"github.com/ingotml/ingot/vae"
)

// ParseConfig decodes weight-file metadata: any bytes give a valid
// configuration or an error, never a panic, and what it accepts
// round-trips through JSON.
func FuzzParseConfig(f *testing.F) {
	f.Add(vae.DefaultConfig(vae.MLP).JSON())
	f.Add(vae.DefaultConfig(vae.Conv).JSON())
	f.Add(`{"kind":"conv","height":30}`)
	f.Add(`{"latent":-5}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := vae.ParseConfig(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted %q but Validate says %v", s, err)
		}
		back, err := vae.ParseConfig(c.JSON())
		if err != nil || back.JSON() != c.JSON() {
			t.Fatalf("%q does not round-trip: %v", c.JSON(), err)
		}
	})
}

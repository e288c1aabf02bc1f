//go:build !darwin

package mtl

import (
	"errors"

	"github.com/ingotml/ingot/metal/driver"
)

// Open reports that Metal is unavailable: it exists only on macOS.
func Open() (driver.Driver, error) {
	return nil, errors.New("mtl: Metal is only available on macOS")
}

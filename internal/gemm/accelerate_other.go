//go:build !darwin

package gemm

import "errors"

func accelerateImpl() (*impl, error) {
	return nil, errors.New("gemm: Accelerate is only available on macOS")
}

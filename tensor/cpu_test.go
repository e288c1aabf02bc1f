package tensor_test

import (
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/tensor/devicetest"
)

func TestCPUConformance(t *testing.T) { devicetest.Run(t, tensor.CPU()) }

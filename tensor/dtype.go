package tensor

import "fmt"

// DType is the element type of a tensor.
type DType uint8

// The element types. Float16 is reserved for mixed precision: no kernel
// implements it yet.
const (
	Float32 DType = iota + 1
	Int32
	Float16
)

// Size is the size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float16:
		return 2
	}
	panic(fmt.Sprintf("tensor: invalid dtype %d", uint8(d)))
}

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int32:
		return "int32"
	case Float16:
		return "float16"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

package safetensors

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The element types this package reads and writes. Other safetensors dtypes
// (8-bit and sub-byte floats, complex) are rejected as unknown.
const (
	BOOL DType = "BOOL"
	U8   DType = "U8"
	I8   DType = "I8"
	I16  DType = "I16"
	U16  DType = "U16"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I32  DType = "I32"
	U32  DType = "U32"
	F32  DType = "F32"
	F64  DType = "F64"
	I64  DType = "I64"
	U64  DType = "U64"
)

// dtypeInfo gives each dtype's element size in bytes and its rank in the
// reference implementation's ordering (increasing alignment); the writer lays
// tensors out by descending rank so each starts aligned to its element size.
var dtypeInfo = map[DType]struct{ size, rank int }{
	BOOL: {1, 0},
	U8:   {1, 1},
	I8:   {1, 2},
	I16:  {2, 3},
	U16:  {2, 4},
	F16:  {2, 5},
	BF16: {2, 6},
	I32:  {4, 7},
	U32:  {4, 8},
	F32:  {4, 9},
	F64:  {8, 10},
	I64:  {8, 11},
	U64:  {8, 12},
}

// Size is the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeInfo[d].size }

// Valid reports whether d is a dtype this package supports.
func (d DType) Valid() bool { _, ok := dtypeInfo[d]; return ok }

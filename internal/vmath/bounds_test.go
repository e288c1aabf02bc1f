package vmath

// Documented max ulp errors (see doc.go), asserted by TestULPBounds.
const (
	boundExp      = 1.0
	boundLog      = 1.0
	boundLog1p    = 1.0
	boundTanh     = 1.1
	boundSigmoid  = 2.0
	boundSoftplus = 2.0
)

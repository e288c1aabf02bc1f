// Package kernels declares ingot's fused neural-network device kernels —
// im2col/col2im for convolutions, batch normalization, the recurrent cells,
// optimizer updates — with their CPU implementations, registered on
// tensor.CPU() at init.
//
// It depends only on package tensor. Every kernel takes a plain parameter
// struct (tensor.View, ints and floats, passed by value) so that a GPU
// device can implement it; the Metal device adds the MSL twins. The
// conformance cases live in package kerneltest, which tests import, so
// that testify never reaches user binaries.
package kernels

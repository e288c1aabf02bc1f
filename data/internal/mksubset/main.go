// Command mksubset regenerates the embedded Fashion-MNIST subset in
// data/fashionmnist from the full data set: the first 600 training and the
// first 100 test images of every class, in file order, written as gzip IDX.
//
//	go run ./data/internal/mksubset [-src /usr/share/datasets/fashion-mnist] [-out data/fashionmnist]
//
// The full set comes from Debian's dataset-fashion-mnist package
// (apt-get install dataset-fashion-mnist). The output is deterministic for a
// given version of the gzip encoder.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ingotml/ingot/data"
	"github.com/klauspost/compress/gzip"
)

func main() {
	src := flag.String("src", data.SystemFashionMNISTDir, "directory with the full Fashion-MNIST")
	out := flag.String("out", "data/fashionmnist", "output directory")
	trainPer := flag.Int("train-per-class", data.EmbeddedTrainN/10, "training images per class")
	testPer := flag.Int("test-per-class", data.EmbeddedTestN/10, "test images per class")
	flag.Parse()
	if err := run(*src, *out, *trainPer, *testPer); err != nil {
		fmt.Fprintln(os.Stderr, "mksubset:", err)
		os.Exit(1)
	}
}

func run(src, out string, trainPer, testPer int) error {
	for _, s := range []struct {
		split data.Split
		per   int
	}{{data.Train, trainPer}, {data.Test, testPer}} {
		full, err := data.LoadMNISTDir(src, s.split)
		if err != nil {
			return err
		}
		sub, _, err := data.BalancedSubset(full, s.per)
		if err != nil {
			return err
		}
		prefix := "train"
		if s.split == data.Test {
			prefix = "t10k"
		}
		labels := make([]byte, sub.N)
		for i, l := range sub.Labels {
			labels[i] = byte(l)
		}
		if err := writeGz(filepath.Join(out, prefix+"-images-idx3-ubyte.gz"), []int{sub.N, sub.Rows, sub.Cols}, sub.Pixels); err != nil {
			return err
		}
		if err := writeGz(filepath.Join(out, prefix+"-labels-idx1-ubyte.gz"), []int{sub.N}, labels); err != nil {
			return err
		}
		fmt.Printf("%s: %d of %d images\n", s.split, sub.N, full.N)
	}
	return nil
}

func writeGz(path string, dims []int, b []byte) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := data.WriteIDX(zw, dims, b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

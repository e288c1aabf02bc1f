// Package data owns ingot's training data: the IDX file format (MNIST and
// Fashion-MNIST, raw or gzip), image data sets and where to find them, the
// batch loader with seeded shuffling and light augmentation, and text
// corpora with their rune vocabularies and language-model batching.
//
// The package does not depend on the tensor package: it produces float32
// batches ([]float32 plus their shape) and int32 labels or token ids, and
// models convert them to tensors.
//
// # Images
//
// [ReadIDX] decodes one IDX file (magic 0x00000803 images, 0x00000801
// labels; only the unsigned-byte element type). [LoadMNISTDir] reads the four
// standard files of a directory. [Find] picks the data set the way the CLI
// does: an explicit directory, else Debian's dataset-fashion-mnist under
// /usr/share/datasets/fashion-mnist, else the embedded subset ([Default]):
// 6000 training and 1000 test images of Fashion-MNIST, 600 and 100 per class,
// shipped gzip-compressed under data/fashionmnist with its MIT licence and
// regenerated from the full set by data/internal/mksubset.
//
// # Batches
//
// A [Loader] walks an [Images] set in batches. The order of epoch e is a
// permutation drawn from a PCG generator seeded with (seed, e) and the
// augmentation of step s from one seeded with (seed, e, s), so any epoch and
// step can be reproduced (or resumed with [Loader.Seek]) without replaying
// the ones before it. Batches are written into the caller's [Batch], whose
// buffers are reused: in steady state Next allocates nothing.
//
// # Text
//
// A [Vocab] maps Unicode runes (not bytes) to int32 ids; id 0 is reserved for
// unknown runes. It marshals to compact JSON so it can ride in a weight
// file's metadata. [LoadText] reads a UTF-8 file (raw or gzip) and reports
// the byte offset of the first invalid sequence. A [TextBatcher] splits a
// token stream into parallel tracks and yields (input, target) chunks for
// truncated backpropagation through time. Two public-domain corpora ship
// with the package ([LoadCorpus]): Jane Austen's Pride and Prejudice and the
// Three Hundred Tang Poems.
//
// # Concurrency
//
// Images, Vocab and the strings returned by the loaders are safe for
// concurrent reads. A Loader or TextBatcher holds iteration state and must be
// used by one goroutine at a time.
package data

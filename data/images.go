package data

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Images is a labelled set of greyscale images, one byte per pixel (0 is the
// background), stored image after image, row after row.
type Images struct {
	N, Rows, Cols int
	Pixels        []uint8 // len N*Rows*Cols
	Labels        []int32 // len N
}

// Image returns the pixels of image i (a view, not a copy).
func (m *Images) Image(i int) []uint8 {
	sz := m.Rows * m.Cols
	return m.Pixels[i*sz : (i+1)*sz : (i+1)*sz]
}

// Validate checks that the sizes agree.
func (m *Images) Validate() error {
	if m.N < 0 || m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("data: images: bad shape %d×%d×%d", m.N, m.Rows, m.Cols)
	}
	if len(m.Pixels) != m.N*m.Rows*m.Cols {
		return fmt.Errorf("data: images: %d pixels for %d images of %d×%d", len(m.Pixels), m.N, m.Rows, m.Cols)
	}
	if len(m.Labels) != m.N {
		return fmt.Errorf("data: images: %d labels for %d images", len(m.Labels), m.N)
	}
	return nil
}

// NumClasses is one more than the largest label (0 for an empty set).
func (m *Images) NumClasses() int {
	c := int32(-1)
	for _, l := range m.Labels {
		c = max(c, l)
	}
	return int(c) + 1
}

// Subset returns a copy holding the images at the given indices, in order.
func (m *Images) Subset(idx []int) *Images {
	sz := m.Rows * m.Cols
	out := &Images{N: len(idx), Rows: m.Rows, Cols: m.Cols,
		Pixels: make([]uint8, 0, len(idx)*sz), Labels: make([]int32, 0, len(idx))}
	for _, i := range idx {
		out.Pixels = append(out.Pixels, m.Image(i)...)
		out.Labels = append(out.Labels, m.Labels[i])
	}
	return out
}

// BalancedSubset picks the first perClass images of every class in file
// order and returns them in file order with their indices in m. It fails if
// a class has fewer than perClass images. The embedded Fashion-MNIST subset
// is BalancedSubset(full, 600) of the training set and (full, 100) of the
// test set.
func BalancedSubset(m *Images, perClass int) (*Images, []int, error) {
	k := m.NumClasses()
	count := make([]int, k)
	idx := make([]int, 0, k*perClass)
	for i, l := range m.Labels {
		if l < 0 {
			return nil, nil, fmt.Errorf("data: image %d has negative label %d", i, l)
		}
		if count[l] < perClass {
			count[l]++
			idx = append(idx, i)
		}
	}
	for c, n := range count {
		if n < perClass {
			return nil, nil, fmt.Errorf("data: class %d has %d images, fewer than %d", c, n, perClass)
		}
	}
	return m.Subset(idx), idx, nil
}

// Split selects the training or the test part of a data set.
type Split int

const (
	Train Split = iota
	Test
)

func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// prefix is the standard MNIST file-name prefix of the split.
func (s Split) prefix() string {
	if s == Test {
		return "t10k"
	}
	return "train"
}

// FashionMNISTClasses names the ten Fashion-MNIST labels, by label.
var FashionMNISTClasses = [10]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// mnistFileNames lists, in order of preference, the names a split's images
// (kind "images", "idx3") or labels ("labels", "idx1") may have.
func mnistFileNames(split Split, kind, idx string) []string {
	p := split.prefix()
	base := p + "-" + kind + "-" + idx + "-ubyte"
	dotted := p + "-" + kind + "." + idx + "-ubyte" // as some mirrors spell it
	return []string{base + ".gz", base, dotted + ".gz", dotted}
}

// findFile returns the first of names present in fsys.
func findFile(fsys fs.FS, names []string) (string, error) {
	for _, n := range names {
		if st, err := fs.Stat(fsys, n); err == nil && !st.IsDir() {
			return n, nil
		}
	}
	return "", fs.ErrNotExist
}

// LoadMNISTDir reads one split of an MNIST-format data set (MNIST,
// Fashion-MNIST, ...) from dir, which holds the standard files
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte, each raw or with .gz.
func LoadMNISTDir(dir string, split Split) (*Images, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("data: data directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("data: data directory %s is not a directory", dir)
	}
	return loadMNIST(os.DirFS(dir), dir, split, func(name string) (*IDX, error) {
		return ReadIDXFile(filepath.Join(dir, name))
	})
}

func loadMNIST(fsys fs.FS, where string, split Split, read func(string) (*IDX, error)) (*Images, error) {
	imgNames := mnistFileNames(split, "images", "idx3")
	lblNames := mnistFileNames(split, "labels", "idx1")
	imgName, err := findFile(fsys, imgNames)
	if err != nil {
		return nil, fmt.Errorf("data: %s has no %s images file (looked for %s or %s)",
			where, split, imgNames[0], imgNames[1])
	}
	lblName, err := findFile(fsys, lblNames)
	if err != nil {
		return nil, fmt.Errorf("data: %s has no %s labels file (looked for %s or %s)",
			where, split, lblNames[0], lblNames[1])
	}
	img, err := read(imgName)
	if err != nil {
		return nil, err
	}
	lbl, err := read(lblName)
	if err != nil {
		return nil, err
	}
	imgPath, lblPath := filepath.Join(where, imgName), filepath.Join(where, lblName)
	if len(img.Dims) != 3 {
		return nil, &IDXError{Name: imgPath, Msg: fmt.Sprintf(
			"images need 3 dimensions (count, rows, cols), the header declares %d (%s)", len(img.Dims), dimString(img.Dims))}
	}
	if img.Dims[1] == 0 || img.Dims[2] == 0 {
		return nil, &IDXError{Name: imgPath, Msg: fmt.Sprintf("images of size %d×%d", img.Dims[1], img.Dims[2])}
	}
	if len(lbl.Dims) != 1 {
		return nil, &IDXError{Name: lblPath, Msg: fmt.Sprintf(
			"labels need 1 dimension (count), the header declares %d (%s)", len(lbl.Dims), dimString(lbl.Dims))}
	}
	if img.Dims[0] != lbl.Dims[0] {
		return nil, fmt.Errorf("data: %s holds %d images but %s holds %d labels", imgPath, img.Dims[0], lblPath, lbl.Dims[0])
	}
	labels := make([]int32, len(lbl.Data))
	for i, b := range lbl.Data {
		labels[i] = int32(b)
	}
	return &Images{N: img.Dims[0], Rows: img.Dims[1], Cols: img.Dims[2], Pixels: img.Data, Labels: labels}, nil
}

// The embedded subset of Fashion-MNIST (see data/fashionmnist/README.md),
// regenerated from the full set by:
//
//go:generate go run ./internal/mksubset -out fashionmnist
//go:embed fashionmnist/*.gz
var embeddedFashion embed.FS

// Embedded subset sizes: 600 training and 100 test images per class.
const (
	EmbeddedTrainN = 6000
	EmbeddedTestN  = 1000
)

// Default returns one split of the embedded Fashion-MNIST subset. Each call
// decodes a fresh copy (3 MB of gzip, a fraction of a second) that the
// caller may modify.
func Default(split Split) (*Images, error) {
	sub, _ := fs.Sub(embeddedFashion, "fashionmnist")
	return loadMNIST(sub, "embedded:fashionmnist", split, func(name string) (*IDX, error) {
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return nil, fmt.Errorf("data: embedded %s: %w", name, err)
		}
		return ReadIDX(bytes.NewReader(b), "embedded:fashionmnist/"+name)
	})
}

// SystemFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs the full data set.
const SystemFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// SourceKind says where a data set was found.
type SourceKind int

const (
	SourceEmbedded SourceKind = iota // the subset shipped inside the binary
	SourceSystem                     // SystemFashionMNISTDir
	SourceDir                        // a directory the user named
)

// Source is a resolved data set location; Load reads its splits.
type Source struct {
	Kind SourceKind
	Dir  string // empty for SourceEmbedded
}

// systemDir is a variable so tests can point it elsewhere.
var systemDir = SystemFashionMNISTDir

// Resolve picks the data set: dir if not empty (it must hold both splits),
// else the full Fashion-MNIST of Debian's dataset-fashion-mnist if installed,
// else the embedded subset.
func Resolve(dir string) (Source, error) {
	if dir != "" {
		if err := hasBothSplits(dir); err != nil {
			return Source{}, err
		}
		return Source{Kind: SourceDir, Dir: dir}, nil
	}
	if hasBothSplits(systemDir) == nil {
		return Source{Kind: SourceSystem, Dir: systemDir}, nil
	}
	return Source{Kind: SourceEmbedded}, nil
}

func hasBothSplits(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data: data directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data: data directory %s is not a directory", dir)
	}
	fsys := os.DirFS(dir)
	for _, split := range []Split{Train, Test} {
		for _, k := range [][2]string{{"images", "idx3"}, {"labels", "idx1"}} {
			names := mnistFileNames(split, k[0], k[1])
			if _, err := findFile(fsys, names); err != nil {
				return fmt.Errorf("data: %s has no %s %s file (looked for %s or %s); an MNIST-format directory needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or .gz",
					dir, split, k[0], names[0], names[1])
			}
		}
	}
	return nil
}

// Load reads one split from the source.
func (s Source) Load(split Split) (*Images, error) {
	if s.Kind == SourceEmbedded {
		return Default(split)
	}
	return LoadMNISTDir(s.Dir, split)
}

func (s Source) String() string {
	switch s.Kind {
	case SourceEmbedded:
		return "embedded Fashion-MNIST subset"
	case SourceSystem:
		return "Fashion-MNIST from " + s.Dir
	default:
		return "MNIST-format data from " + s.Dir
	}
}

// Dataset is both splits of a data set and where they came from.
type Dataset struct {
	Train, Test *Images
	Source      Source
}

// Find resolves dir as Resolve does and loads both splits.
func Find(dir string) (*Dataset, error) {
	src, err := Resolve(dir)
	if err != nil {
		return nil, err
	}
	tr, err := src.Load(Train)
	if err != nil {
		return nil, err
	}
	te, err := src.Load(Test)
	if err != nil {
		return nil, err
	}
	if tr.Rows != te.Rows || tr.Cols != te.Cols {
		return nil, fmt.Errorf("data: %s: training images are %d×%d but test images are %d×%d",
			src, tr.Rows, tr.Cols, te.Rows, te.Cols)
	}
	return &Dataset{Train: tr, Test: te, Source: src}, nil
}

// Describe says what was loaded, e.g. "using embedded Fashion-MNIST subset
// (6000 train / 1000 test)".
func (d *Dataset) Describe() string {
	return fmt.Sprintf("using %s (%d train / %d test)", d.Source, d.Train.N, d.Test.N)
}

package data

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// Scale selects how pixel bytes become floats.
type Scale int

const (
	ScaleUnit   Scale = iota // p/255, in [0, 1]
	ScaleSigned              // p/127.5 − 1, in [−1, 1] (for tanh outputs)
)

// Of is pixel byte p on scale s.
func (s Scale) Of(p uint8) float32 {
	if s == ScaleSigned {
		return float32(float64(p)/127.5 - 1)
	}
	return float32(float64(p) / 255)
}

// LoaderOptions configures a Loader. The zero value walks the images in
// file order, scaled to [0, 1], keeping a short last batch.
type LoaderOptions struct {
	Seed     uint64 // seeds shuffling and augmentation
	Shuffle  bool   // a fresh permutation each epoch
	DropLast bool   // skip the last batch if it is short
	Scale    Scale

	// Augmentation (training only). MaxShift moves each image by a random
	// whole number of pixels in [−MaxShift, MaxShift] along each axis,
	// filling the uncovered border with background (pixel value 0, which
	// scales to 0 or −1). HFlip mirrors each image left–right with
	// probability 1/2 (applied before the shift).
	MaxShift int
	HFlip    bool
}

// Batch is one batch of images as floats. X holds N images of Rows×Cols
// pixels, image after image, row after row: shape [N, Rows*Cols], or
// [N, 1, Rows, Cols] for convolutions. Its buffers are reused by the next
// call to Loader.Next.
type Batch struct {
	X             []float32
	Labels        []int32
	N, Rows, Cols int
	Epoch, Step   int   // position of this batch
	Index         []int // source image indices (into the loader's Images)
}

// Loader yields batches of an Images set. It is not safe for concurrent use.
type Loader struct {
	img   *Images
	bs    int
	opts  LoaderOptions
	lut   [256]float32
	perm  []int
	epoch int
	step  int
	steps int

	pcg rand.PCG // reseeded per epoch and per batch; no allocation
	tmp []uint8  // one image, for augmentation
}

// NewLoader makes a loader positioned at epoch 0, step 0.
func NewLoader(img *Images, batchSize int, opts LoaderOptions) (*Loader, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if batchSize <= 0 {
		return nil, fmt.Errorf("data: batch size %d, must be positive", batchSize)
	}
	if opts.MaxShift < 0 || opts.MaxShift >= max(img.Rows, img.Cols) {
		return nil, fmt.Errorf("data: shift %d pixels, must be in [0, %d)", opts.MaxShift, max(img.Rows, img.Cols))
	}
	if opts.Scale != ScaleUnit && opts.Scale != ScaleSigned {
		return nil, fmt.Errorf("data: unknown scale %d", opts.Scale)
	}
	l := &Loader{img: img, bs: batchSize, opts: opts, perm: make([]int, img.N), tmp: make([]uint8, img.Rows*img.Cols)}
	for p := range l.lut {
		l.lut[p] = opts.Scale.Of(uint8(p))
	}
	l.steps = img.N / batchSize
	if !opts.DropLast && img.N%batchSize != 0 {
		l.steps++
	}
	l.startEpoch(0)
	return l, nil
}

// StepsPerEpoch is the number of batches in one epoch.
func (l *Loader) StepsPerEpoch() int { return l.steps }

// BatchSize is the size of every full batch.
func (l *Loader) BatchSize() int { return l.bs }

// Position returns the epoch and step of the next batch Next will yield.
func (l *Loader) Position() (epoch, step int) { return l.epoch, l.step }

// Seek positions the loader so that the next batch is step of epoch, exactly
// as an uninterrupted run would produce it (same images, same augmentation).
func (l *Loader) Seek(epoch, step int) error {
	if epoch < 0 || step < 0 || step > l.steps {
		return fmt.Errorf("data: seek to epoch %d step %d: steps per epoch is %d", epoch, step, l.steps)
	}
	l.startEpoch(epoch)
	l.step = step
	return nil
}

// mix64 is the SplitMix64 finaliser, used to derive independent seeds.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uniform returns a uniform integer in [0, n) (Lemire's multiply-shift with
// rejection), fixed here rather than taken from math/rand so the sequence
// never depends on the Go version.
func uniform(p *rand.PCG, n uint64) uint64 {
	for {
		hi, lo := bits.Mul64(p.Uint64(), n)
		if lo >= n || lo >= (-n)%n {
			return hi
		}
	}
}

// startEpoch sets the order of epoch e: identity, or a Fisher–Yates
// permutation from PCG(seed, e).
func (l *Loader) startEpoch(e int) {
	l.epoch, l.step = e, 0
	for i := range l.perm {
		l.perm[i] = i
	}
	if !l.opts.Shuffle {
		return
	}
	l.pcg.Seed(mix64(l.opts.Seed), mix64(uint64(e)^0x5851f42d4c957f2d))
	for i := len(l.perm) - 1; i > 0; i-- {
		j := int(uniform(&l.pcg, uint64(i+1)))
		l.perm[i], l.perm[j] = l.perm[j], l.perm[i]
	}
}

// Next fills b with the next batch and returns true, or returns false at the
// end of the epoch and moves to the start of the next one.
func (l *Loader) Next(b *Batch) bool {
	if l.step >= l.steps {
		l.startEpoch(l.epoch + 1)
		return false
	}
	lo := l.step * l.bs
	hi := min(lo+l.bs, l.img.N)
	n := hi - lo
	sz := l.img.Rows * l.img.Cols
	b.N, b.Rows, b.Cols, b.Epoch, b.Step = n, l.img.Rows, l.img.Cols, l.epoch, l.step
	b.X = grow(b.X, n*sz)
	if cap(b.Labels) < n {
		b.Labels = make([]int32, l.bs)
	}
	b.Labels = b.Labels[:n]
	if cap(b.Index) < n {
		b.Index = make([]int, l.bs)
	}
	b.Index = b.Index[:n]
	aug := l.opts.MaxShift > 0 || l.opts.HFlip
	if aug {
		// Seeded by (seed, epoch, step): a resumed run augments identically.
		l.pcg.Seed(mix64(l.opts.Seed^0x9e3779b97f4a7c15), mix64(uint64(l.epoch)<<32^uint64(l.step)))
	}
	for k := range n {
		i := l.perm[lo+k]
		b.Index[k] = i
		b.Labels[k] = l.img.Labels[i]
		px := l.img.Image(i)
		if aug {
			flip := l.opts.HFlip && l.pcg.Uint64()>>63 == 1
			dx, dy := 0, 0
			if s := l.opts.MaxShift; s > 0 {
				dx = int(uniform(&l.pcg, uint64(2*s+1))) - s
				dy = int(uniform(&l.pcg, uint64(2*s+1))) - s
			}
			Augment(l.tmp, px, l.img.Rows, l.img.Cols, dx, dy, flip)
			px = l.tmp
		}
		dst := b.X[k*sz : (k+1)*sz]
		for j, p := range px {
			dst[j] = l.lut[p]
		}
	}
	l.step++
	return true
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Augment writes into dst the rows×cols image src, mirrored left–right if
// flip, then moved dx pixels right and dy pixels down (negative: left, up),
// with background (0) where nothing moved in. dst and src must not overlap.
func Augment(dst, src []uint8, rows, cols, dx, dy int, flip bool) {
	for r := range rows {
		d := dst[r*cols : (r+1)*cols]
		sr := r - dy
		if sr < 0 || sr >= rows {
			clear(d)
			continue
		}
		s := src[sr*cols : (sr+1)*cols]
		for c := range cols {
			sc := c - dx
			if sc < 0 || sc >= cols {
				d[c] = 0
				continue
			}
			if flip {
				sc = cols - 1 - sc
			}
			d[c] = s[sc]
		}
	}
}

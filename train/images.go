package train

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/ingotml/ingot/tensor"
)

// GridOptions lays out images in a grid PNG.
type GridOptions struct {
	Cols   int     // images per row (0: ⌈√N⌉)
	Lo, Hi float32 // value range mapped to black..white (both 0: [0, 1])
	Pad    int     // pixels between images (0: 2; negative: none)
	Zoom   int     // each pixel drawn Zoom×Zoom (0: 1)
}

// GridPNG encodes n images of c channels (1: grey, 3: RGB) of h×w pixels,
// stored as [n, c, h, w] floats, as one PNG grid on a white background.
// Values outside [Lo, Hi] are clipped; NaN is drawn red.
func GridPNG(x []float32, n, c, h, w int, o GridOptions) ([]byte, error) {
	if n <= 0 || h <= 0 || w <= 0 || (c != 1 && c != 3) || len(x) != n*c*h*w {
		return nil, fmt.Errorf("train: image grid of %d values for %d images of %d×%d×%d (want 1 or 3 channels)", len(x), n, c, h, w)
	}
	if o.Lo == 0 && o.Hi == 0 {
		o.Hi = 1
	}
	if !(o.Hi > o.Lo) {
		return nil, fmt.Errorf("train: image grid range [%v, %v] is empty", o.Lo, o.Hi)
	}
	cols := o.Cols
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	pad := o.Pad
	switch {
	case pad == 0:
		pad = 2
	case pad < 0:
		pad = 0
	}
	zoom := max(o.Zoom, 1)
	cw, ch := w*zoom+pad, h*zoom+pad
	img := image.NewRGBA(image.Rect(0, 0, cols*cw+pad, rows*ch+pad))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	scale := 255 / (o.Hi - o.Lo)
	level := func(v float32) (uint8, bool) {
		if v != v {
			return 0, false
		}
		f := (v - o.Lo) * scale
		return uint8(min(max(f, 0), 255) + 0.5), true
	}
	for k := range n {
		x0, y0 := pad+(k%cols)*cw, pad+(k/cols)*ch
		base := x[k*c*h*w : (k+1)*c*h*w]
		for yy := range h {
			for xx := range w {
				var px color.RGBA
				px.A = 255
				ok := true
				if c == 1 {
					g, good := level(base[yy*w+xx])
					px.R, px.G, px.B, ok = g, g, g, good
				} else {
					var g1, g2, g3 bool
					px.R, g1 = level(base[yy*w+xx])
					px.G, g2 = level(base[h*w+yy*w+xx])
					px.B, g3 = level(base[2*h*w+yy*w+xx])
					ok = g1 && g2 && g3
				}
				if !ok {
					px = color.RGBA{255, 0, 0, 255}
				}
				for dy := range zoom {
					for dx := range zoom {
						img.SetRGBA(x0+xx*zoom+dx, y0+yy*zoom+dy, px)
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("train: image grid: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteGrid writes the images of x — [N, C, H, W], [N, H, W] or a square
// [N, H·W] — to path as a grid PNG, atomically.
func WriteGrid(path string, x *tensor.Tensor, o GridOptions) error {
	n, c, h, w := 0, 1, 0, 0
	switch x.Rank() {
	case 4:
		n, c, h, w = x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	case 3:
		n, h, w = x.Dim(0), x.Dim(1), x.Dim(2)
	case 2:
		n = x.Dim(0)
		s := int(math.Sqrt(float64(x.Dim(1))))
		if s*s != x.Dim(1) {
			return fmt.Errorf("train: WriteGrid: %v is not square images", x)
		}
		h, w = s, s
	default:
		return fmt.Errorf("train: WriteGrid: want images [N, C, H, W], have %v", x)
	}
	b, err := GridPNG(x.Float32s(), n, c, h, w, o)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b)
}

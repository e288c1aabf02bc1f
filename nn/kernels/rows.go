package kernels

// gatherRows sets dst[oh·ow + j] = src[oh·rowStep + j·step].
func gatherRows(dst, src []float32, oh, ow, rowStep, step int) {
	for i := range oh {
		d := dst[i*ow : (i+1)*ow]
		s := src[i*rowStep : i*rowStep+(ow-1)*step+1]
		if step == 1 {
			copy(d, s)
			continue
		}
		for j := range d {
			d[j] = s[j*step]
		}
	}
}

// scatterRows adds src[oh·ow + j] to dst[oh·rowStep + j·step].
func scatterRows(dst, src []float32, oh, ow, rowStep, step int) {
	for i := range oh {
		s := src[i*ow : (i+1)*ow]
		d := dst[i*rowStep : i*rowStep+(ow-1)*step+1]
		if step == 1 {
			for j, v := range s {
				d[j] += v
			}
			continue
		}
		for j, v := range s {
			d[j*step] += v
		}
	}
}

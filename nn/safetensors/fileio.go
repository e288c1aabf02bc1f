package safetensors

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// WriteFile saves f at path atomically: it writes a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory, so a
// failed or interrupted save leaves any previous file intact (at worst a
// stray ".<name>.tmp*" file after a crash). A path ending in ".zst" (the
// default ".safetensors.zst") is zstd-compressed; anything else is written as
// plain safetensors. A new file gets mode 0644; a replaced file keeps its mode.
func WriteFile(path string, f *File) error {
	return writeFile(path, f, nil)
}

// writeFile is WriteFile with a hook wrapping the temp file's writer, which
// tests use to inject write failures.
func writeFile(path string, f *File, wrap func(io.Writer) io.Writer) (err error) {
	if _, err := layout(f); err != nil { // refuse bad input before touching the disk
		return fmt.Errorf("%s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("%s: creating temporary file: %w", path, err)
	}
	closed, renamed := false, false
	defer func() {
		switch {
		case err == nil:
		case renamed:
			err = fmt.Errorf("%s: saved, but %w", path, err)
		default:
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
			err = fmt.Errorf("%s: %w (previous file, if any, left unchanged)", path, err)
		}
	}()
	var w io.Writer = tmp
	if wrap != nil {
		w = wrap(tmp)
	}
	if strings.HasSuffix(path, ".zst") {
		err = EncodeZstd(w, f)
	} else {
		err = Encode(w, f)
	}
	if err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	return syncDir(dir)
}

// syncDir makes the rename durable. Filesystems that cannot fsync a
// directory report EINVAL or ENOTSUP; the rename itself is done by then.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("syncing directory: %w", err)
	}
	return nil
}

// ReadFile loads a safetensors file, plain or zstd-compressed (detected by
// its magic number, whatever the extension), under [DefaultLimits].
func ReadFile(path string) (*File, error) {
	return ReadFileLimits(path, DefaultLimits)
}

// ReadFileLimits is [ReadFile] with explicit limits.
func ReadFileLimits(path string, limits Limits) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	size := int64(-1)
	if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	f, err := decode(fh, limits, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

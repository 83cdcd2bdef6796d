package unpack

import (
	"fmt"
	"path/filepath"
	"strings"
)

// checkGunzipOutside refuses an external decompressor that lies inside
// target, the bundle or rootfs being written: its contents come from the
// image, and no program from the image may run (threats.md T24).
func (o *Options) checkGunzipOutside(target string) error {
	if o.GunzipPath == "" {
		return nil
	}
	if !filepath.IsAbs(o.GunzipPath) {
		return fmt.Errorf("%w: decompressor path %q is not absolute", ErrInvalidOptions, o.GunzipPath)
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidOptions, target, err)
	}
	rel, err := filepath.Rel(abs, filepath.Clean(o.GunzipPath))
	if err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%w: decompressor %s lies inside %s, which is being written from the image", ErrInvalidOptions, o.GunzipPath, target)
	}
	return nil
}

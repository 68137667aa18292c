// Package imaging is the platform's image pipeline for images that clients
// upload: Decode checks and decodes one, Fit scales it down, EncodeJPEG
// writes the result without metadata. The restaurants app makes its profile
// photo (1024 px) and thumbnail (256 px) with it, the files app its
// thumbnails.
//
// Every byte Decode reads comes from a client, so it defends itself:
//
//   - Size: it reads at most Limits.MaxBytes+1 bytes and refuses more, so an
//     endless or huge body costs at most that much memory and reading.
//   - Format by content: PNG, JPEG and WebP are recognized by their magic
//     bytes; a declared content type or file name is never consulted, and any
//     other format (GIF, TIFF, SVG, HEIC, text, ...) is refused before a
//     decoder sees it.
//   - Image bombs: the width and height are read from the header and checked
//     against Limits.MaxPixels and Limits.MaxSide before any pixel memory is
//     allocated, so a tiny file declaring 100000×100000 pixels is refused at
//     the cost of reading its header.
//   - Scan bombs: a JPEG may have at most 100 scans. A progressive JPEG can
//     repeat scans that cost a few bytes each but a pass over the whole
//     image each to decode (half an hour of CPU for a 10 MiB file); real
//     encoders write about 10.
//   - Decoder panics: decoders have panicked on crafted input before; a panic
//     in one becomes an invalid-image error, never a crash.
//
// Errors are faults (internal/platform/fault) with client-safe messages:
// fault.TooLarge for input over MaxBytes, fault.Invalid for everything that
// is not an acceptable image. An error of the reader itself is returned
// wrapped, as an internal error.
//
// Memory: Decode holds the whole (size-limited) input and the decoded pixels
// at once: about 60 MiB of heap for a 12-megapixel photo, but a small crafted
// file at the default limits can need up to ~0.9 GiB (a 50-megapixel
// progressive JPEG). Run image work one at a time per process, or lower
// MaxPixels. docs/performance.md, "Image processing", has the measurements.
package imaging

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"

	"golang.org/x/image/webp"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Defaults for the zero fields of Limits.
const (
	DefaultMaxBytes  = 10 << 20   // 10 MiB of encoded input
	DefaultMaxPixels = 50_000_000 // 50 megapixels, width×height
	DefaultMaxSide   = 20_000     // pixels on the longer side
)

// maxJPEGScans bounds the scans of a JPEG: ten times what libjpeg's
// progressive script writes.
const maxJPEGScans = 100

// Limits bound what Decode accepts. A zero field takes its default.
type Limits struct {
	MaxBytes  int64 // encoded input size; 0 → DefaultMaxBytes
	MaxPixels int64 // width×height from the header, checked before decoding; 0 → DefaultMaxPixels
	MaxSide   int   // the longer of width and height; 0 → DefaultMaxSide
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultMaxSide
	}
	return l
}

// codec is the decoder of one accepted format.
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecs are the accepted formats by the name Decode returns.
var codecs = map[string]codec{
	"png":  {png.DecodeConfig, png.Decode},
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"webp": {webp.DecodeConfig, webp.Decode},
}

const msgCorrupt = "image data is truncated or corrupt"

// Decode reads at most l.MaxBytes+1 bytes from r and decodes them as a PNG,
// JPEG or WebP image, detected by content. It checks the dimensions in the
// header against l before allocating pixels, decodes, and applies a JPEG's
// EXIF orientation, so the image comes back upright (PNG and WebP metadata
// is ignored). It returns the image and its format: "png", "jpeg" or
// "webp".
//
// Errors: fault.TooLarge when r holds more than l.MaxBytes; fault.Invalid
// when the bytes are not a PNG, JPEG or WebP image, are truncated or
// corrupt, or exceed l.MaxPixels, l.MaxSide or the JPEG scan limit. A read
// error of r is returned wrapped (not a fault: an internal error).
func Decode(r io.Reader, l Limits) (image.Image, string, error) {
	l = l.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, l.MaxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("imaging: read: %w", err)
	}
	if int64(len(data)) > l.MaxBytes {
		return nil, "", fault.New(fault.TooLarge, "image is larger than the %s limit", byteSize(l.MaxBytes))
	}
	format := sniff(data)
	c, ok := codecs[format]
	if !ok {
		return nil, "", fault.New(fault.Invalid, "not a PNG, JPEG or WebP image")
	}

	var cfg image.Config
	if err := guard(func() (err error) {
		cfg, err = c.config(bytes.NewReader(data))
		return err
	}); err != nil {
		return nil, "", err
	}
	if err := checkSize(cfg.Width, cfg.Height, l); err != nil {
		return nil, "", err
	}
	orientation := 1
	if format == "jpeg" {
		var scans int
		orientation, scans = jpegMeta(data)
		if scans > maxJPEGScans {
			return nil, "", fault.New(fault.Invalid, "JPEG image has %d scans, more than the %d allowed", scans, maxJPEGScans)
		}
	}

	var img image.Image
	if err := guard(func() (err error) {
		img, err = c.decode(bytes.NewReader(data))
		return err
	}); err != nil {
		return nil, "", err
	}
	return orient(img, orientation), format, nil
}

// sniff names the format of data from its magic bytes, or returns "".
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// checkSize refuses dimensions that are empty or beyond l.
func checkSize(w, h int, l Limits) error {
	switch {
	case w <= 0 || h <= 0:
		return fault.New(fault.Invalid, msgCorrupt)
	case int64(w)*int64(h) > l.MaxPixels:
		return fault.New(fault.Invalid, "image is %d×%d pixels, more than the %s megapixel limit",
			w, h, strconv.FormatFloat(float64(l.MaxPixels)/1e6, 'f', -1, 64))
	case w > l.MaxSide || h > l.MaxSide:
		return fault.New(fault.Invalid, "image is %d×%d pixels, more than the %d pixel limit on a side", w, h, l.MaxSide)
	}
	return nil
}

// guard runs a decoder step, turning its error or panic into an invalid-image
// fault.
func guard(decode func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fault.Wrap(fmt.Errorf("imaging: decoder panicked: %v", p), fault.Invalid, msgCorrupt)
		}
	}()
	if err := decode(); err != nil {
		return fault.Wrap(err, fault.Invalid, msgCorrupt)
	}
	return nil
}

// byteSize writes n as whole MiB or KiB when it is one, else in bytes.
func byteSize(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

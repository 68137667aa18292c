package imaging

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// FuzzDecode: no input panics Decode, every refusal is a fault (invalid or
// too large), and every image it returns is within the limits.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s ./internal/platform/imaging/
func FuzzDecode(f *testing.F) {
	small := halves(16, 8)
	jpegData := encodeJPEG(f, small, 80)
	for _, seed := range [][]byte{
		encodePNG(f, small),
		jpegData,
		withEXIF(jpegData, 6, binary.LittleEndian),
		progressiveJPEG(16, 16, 2),
		readFile(f, "testdata/lossless.webp"),
		readFile(f, "testdata/lossy.webp"),
		pngHeader(100000, 100000),
		[]byte("GIF89a"),
	} {
		f.Add(seed)
	}
	// Small limits keep each run fast and its memory bounded.
	l := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxSide: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, format, err := Decode(bytes.NewReader(data), l)
		if err != nil {
			if c := fault.CodeOf(err); c != fault.Invalid && c != fault.TooLarge {
				t.Fatalf("error %v is not an invalid or too_large fault", err)
			}
			return
		}
		b := img.Bounds()
		if format == "" || b.Empty() || int64(b.Dx())*int64(b.Dy()) > l.MaxPixels || max(b.Dx(), b.Dy()) > l.MaxSide {
			t.Fatalf("accepted %q image %v beyond the limits", format, b)
		}
	})
}

package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	rgba := halves(40, 20)
	for _, c := range []struct {
		name, format string
		data         []byte
		w, h         int
	}{
		{"png", "png", encodePNG(t, rgba), 40, 20},
		{"jpeg", "jpeg", encodeJPEG(t, rgba, 90), 40, 20},
		{"gray png", "png", encodePNG(t, image.NewGray(image.Rect(0, 0, 3, 5))), 3, 5},
		{"progressive jpeg", "jpeg", progressiveJPEG(24, 16, 3), 24, 16},
		// From golang.org/x/image/testdata (BSD): gopher-doc.1bpp.lossless.webp
		// and blue-purple-pink.lossy.webp.
		{"lossless webp", "webp", readFile(t, "testdata/lossless.webp"), 75, 100},
		{"lossy webp", "webp", readFile(t, "testdata/lossy.webp"), 150, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			img, format, err := Decode(bytes.NewReader(c.data), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if format != c.format || img.Bounds() != image.Rect(0, 0, c.w, c.h) {
				t.Fatalf("got %s %v, want %s %dx%d", format, img.Bounds(), c.format, c.w, c.h)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	pngData := encodePNG(t, halves(64, 64))
	jpegData := encodeJPEG(t, halves(64, 64), 90)
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, halves(8, 8), nil); err != nil {
		t.Fatal(err)
	}
	const notImage, corrupt = "not a PNG, JPEG or WebP image", "image data is truncated or corrupt"
	for _, c := range []struct {
		name string
		data []byte
		l    Limits
		code fault.Code
		msg  string
	}{
		{"empty", nil, Limits{}, fault.Invalid, notImage},
		{"text", []byte("hello, this is not an image\n"), Limits{}, fault.Invalid, notImage},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Limits{}, fault.Invalid, notImage},
		{"gif", gifData.Bytes(), Limits{}, fault.Invalid, notImage},
		{"png signature only", pngData[:8], Limits{}, fault.Invalid, corrupt},
		{"truncated png", pngData[:len(pngData)/2], Limits{}, fault.Invalid, corrupt},
		{"truncated jpeg", jpegData[:len(jpegData)/2], Limits{}, fault.Invalid, corrupt},
		{"jpeg magic then garbage", []byte("\xFF\xD8\xFFgarbage"), Limits{}, fault.Invalid, corrupt},
		{"webp magic then garbage", []byte("RIFF\x10\x00\x00\x00WEBPVP8 garbage"), Limits{}, fault.Invalid, corrupt},
		{"zero width", pngHeader(0, 10), Limits{}, fault.Invalid, corrupt},
		{"bomb", pngHeader(100000, 100000), Limits{}, fault.Invalid,
			"image is 100000×100000 pixels, more than the 50 megapixel limit"},
		{"over pixel limit", pngData, Limits{MaxPixels: 4000}, fault.Invalid,
			"image is 64×64 pixels, more than the 0.004 megapixel limit"},
		{"over side limit", pngHeader(30000, 10), Limits{}, fault.Invalid,
			"image is 30000×10 pixels, more than the 20000 pixel limit on a side"},
		{"too many scans", progressiveJPEG(64, 64, 101), Limits{}, fault.Invalid,
			"JPEG image has 102 scans, more than the 100 allowed"},
		{"over byte limit", pngData, Limits{MaxBytes: 100}, fault.TooLarge,
			"image is larger than the 100 bytes limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			img, _, err := Decode(bytes.NewReader(c.data), c.l)
			f := fault.As(err)
			if f == nil || f.Code != c.code || f.Message != c.msg {
				t.Fatalf("got %v (image %v), want %s: %s", err, img, c.code, c.msg)
			}
		})
	}
}

// countingReader serves n zero bytes after a PNG signature and counts what
// is read.
type countingReader struct {
	n, read int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.read)]
	clear(p)
	if r.read == 0 {
		copy(p, "\x89PNG\r\n\x1a\n")
	}
	r.read += int64(len(p))
	return len(p), nil
}

func TestDecodeTooLarge(t *testing.T) {
	t.Parallel()
	r := &countingReader{n: 40 << 20}
	_, _, err := Decode(r, Limits{})
	if f := fault.As(err); f == nil || f.Code != fault.TooLarge || f.Message != "image is larger than the 10 MiB limit" {
		t.Fatalf("got %v, want too_large", err)
	}
	if r.read > DefaultMaxBytes+1 {
		t.Fatalf("read %d bytes, want at most %d", r.read, DefaultMaxBytes+1)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeReadError(t *testing.T) {
	t.Parallel()
	_, _, err := Decode(failingReader{}, Limits{})
	if err == nil || fault.As(err) != nil {
		t.Fatalf("got %v, want a plain (internal) error", err)
	}
}

// TestDecodeBombAllocatesNothing is not parallel, so that no other test
// allocates while it measures: a 100000×100000 header is refused before any
// pixel memory (40 GB here) is allocated.
func TestDecodeBombAllocatesNothing(t *testing.T) {
	data := pngHeader(100000, 100000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := Decode(bytes.NewReader(data), Limits{})
	runtime.ReadMemStats(&after)
	if !fault.Is(err, fault.Invalid) {
		t.Fatalf("got %v, want invalid", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("allocated %d bytes refusing a bomb, want < 1 MiB", grew)
	}
}

func TestDecodeEXIFOrientation(t *testing.T) {
	t.Parallel()
	plain := encodeJPEG(t, halves(40, 20), 95) // left red, right blue
	red, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}
	for _, c := range []struct {
		name     string
		data     []byte
		w, h     int
		at1, at2 image.Point
		c1, c2   color.RGBA
	}{
		{"none", plain, 40, 20, image.Pt(5, 10), image.Pt(35, 10), red, blue},
		{"1 big-endian", withEXIF(plain, 1, binary.BigEndian), 40, 20, image.Pt(5, 10), image.Pt(35, 10), red, blue},
		// 6: rotate 90° clockwise: the left half becomes the top.
		{"6 big-endian", withEXIF(plain, 6, binary.BigEndian), 20, 40, image.Pt(10, 5), image.Pt(10, 35), red, blue},
		{"6 little-endian", withEXIF(plain, 6, binary.LittleEndian), 20, 40, image.Pt(10, 5), image.Pt(10, 35), red, blue},
		// 8: rotate 90° counter-clockwise: the left half becomes the bottom.
		{"8", withEXIF(plain, 8, binary.BigEndian), 20, 40, image.Pt(10, 35), image.Pt(10, 5), red, blue},
		{"3", withEXIF(plain, 3, binary.BigEndian), 40, 20, image.Pt(35, 10), image.Pt(5, 10), red, blue},
		{"out of range", withEXIF(plain, 9, binary.BigEndian), 40, 20, image.Pt(5, 10), image.Pt(35, 10), red, blue},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			img, format, err := Decode(bytes.NewReader(c.data), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if format != "jpeg" || img.Bounds() != image.Rect(0, 0, c.w, c.h) {
				t.Fatalf("got %s %v, want %dx%d", format, img.Bounds(), c.w, c.h)
			}
			for _, p := range []struct {
				at   image.Point
				want color.RGBA
			}{{c.at1, c.c1}, {c.at2, c.c2}} {
				if got := img.At(p.at.X, p.at.Y); !near(got, p.want) {
					t.Errorf("at %v got %v, want about %v", p.at, got, p.want)
				}
			}
		})
	}
}

// near reports whether c is within a JPEG's error of want.
func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(v uint32, w uint8) bool { return int(v>>8)-int(w) < 40 && int(w)-int(v>>8) < 40 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// markers lists the markers of a JPEG up to its first scan.
func markers(t *testing.T, data []byte) []byte {
	t.Helper()
	var ms []byte
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		ms = append(ms, data[i+1])
		if data[i+1] == markerSOS {
			return ms
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return ms
}

func TestEncodeJPEG(t *testing.T) {
	t.Parallel()
	// An EXIF-tagged photo, decoded and encoded again, loses its metadata.
	src, _, err := Decode(bytes.NewReader(withEXIF(encodeJPEG(t, halves(40, 20), 90), 6, binary.BigEndian)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// A half-transparent image is flattened onto white.
	translucent := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for _, c := range []struct {
		name  string
		img   image.Image
		at    image.Point
		color color.RGBA
	}{
		{"exif photo", src, image.Pt(10, 5), color.RGBA{255, 0, 0, 255}},
		{"transparent", translucent, image.Pt(8, 8), color.RGBA{255, 255, 255, 255}},
		{"gray", image.NewGray(image.Rect(0, 0, 8, 8)), image.Pt(4, 4), color.RGBA{0, 0, 0, 255}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if err := EncodeJPEG(&out, c.img, 85); err != nil {
				t.Fatal(err)
			}
			for _, m := range markers(t, out.Bytes()) {
				// Quantization and Huffman tables, the baseline frame, the scan.
				if m != 0xDB && m != 0xC4 && m != 0xC0 && m != markerSOS {
					t.Fatalf("marker %#x in the output, want only DQT, SOF0, DHT, SOS", m)
				}
			}
			img, err := jpeg.Decode(&out)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != c.img.Bounds() || !near(img.At(c.at.X, c.at.Y), c.color) {
				t.Fatalf("got %v with %v at %v, want %v with %v", img.Bounds(), img.At(c.at.X, c.at.Y), c.at, c.img.Bounds(), c.color)
			}
		})
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestEncodeJPEGWriteError(t *testing.T) {
	t.Parallel()
	if err := EncodeJPEG(errWriter{}, halves(8, 8), 85); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v, want the writer's error", err)
	}
}

func TestFit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		w, h, max, wantW, wantH int
	}{
		{4000, 3000, 1024, 1024, 768},
		{1500, 2000, 1024, 768, 1024},
		{1024, 768, 256, 256, 192},
		{800, 600, 1024, 800, 600}, // never scaled up
		{1024, 1024, 1024, 1024, 1024},
		{20000, 2, 1024, 1024, 1}, // at least one pixel
	} {
		t.Run(fmt.Sprintf("%dx%d at %d", c.w, c.h, c.max), func(t *testing.T) {
			t.Parallel()
			src := image.NewGray(image.Rect(0, 0, c.w, c.h))
			got := Fit(src, c.max)
			if got.Bounds() != image.Rect(0, 0, c.wantW, c.wantH) {
				t.Errorf("got %v, want %dx%d", got.Bounds(), c.wantW, c.wantH)
			}
			if c.w <= c.max && c.h <= c.max && got != image.Image(src) {
				t.Error("copied an image that fits")
			}
		})
	}
}

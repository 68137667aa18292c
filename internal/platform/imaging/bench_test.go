package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/measure"
)

// BenchmarkPhoto12MP is the restaurants app's profile photo path on a
// 12-megapixel camera JPEG (4000×3000, q90): Decode, Fit to 1024 and the
// 1024 result to 256, EncodeJPEG both at q85. "upright" has no EXIF
// orientation; "exif6" is the same photo tagged orientation 6 (a phone held
// upright), which Decode rotates.
//
//	go test -run '^$' -bench Photo12MP -benchtime 5x ./internal/platform/imaging/
//
// Besides ns/op it reports each stage's milliseconds, the output sizes, and
// peak-heap-MiB: the largest heap in use during the run above the heap before
// it, sampled every millisecond (so it includes garbage not yet collected,
// as a server running with the default GOGC would hold).
func BenchmarkPhoto12MP(b *testing.B) {
	data := encodeJPEG(b, photo(4000, 3000), 90)
	b.Logf("input: 4000×3000 JPEG q90, %.1f MiB", float64(len(data))/(1<<20))
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"upright", data},
		{"exif6", withEXIF(data, 6, binary.BigEndian)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var decode, fit, encode time.Duration
			var photoOut, thumbOut bytes.Buffer
			peak := measure.PeakDuring(time.Millisecond, func() {
				for b.Loop() {
					t0 := time.Now()
					img, _, err := Decode(bytes.NewReader(c.data), Limits{})
					if err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					photo := Fit(img, 1024)
					thumb := Fit(photo, 256)
					t2 := time.Now()
					photoOut.Reset()
					thumbOut.Reset()
					if err := EncodeJPEG(&photoOut, photo, 85); err != nil {
						b.Fatal(err)
					}
					if err := EncodeJPEG(&thumbOut, thumb, 85); err != nil {
						b.Fatal(err)
					}
					decode, fit, encode = decode+t1.Sub(t0), fit+t2.Sub(t1), encode+time.Since(t2)
				}
			})
			n := float64(b.N)
			b.ReportMetric(float64(decode.Milliseconds())/n, "decode-ms")
			b.ReportMetric(float64(fit.Milliseconds())/n, "fit-ms")
			b.ReportMetric(float64(encode.Milliseconds())/n, "encode-ms")
			b.ReportMetric(float64(photoOut.Len())/1024, "photo-KiB")
			b.ReportMetric(float64(thumbOut.Len())/1024, "thumb-KiB")
			b.ReportMetric(float64(peak.Heap)/(1<<20), "peak-heap-MiB")
		})
	}
}

// photo is a w×h image with camera-like content: smooth gradients, a few
// sharp edges, and noise that JPEG cannot compress away.
func photo(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(24))
			c := color.RGBA{uint8(x*200/w) + n, uint8(y*200/h) + n, uint8((x+y)*100/(w+h)) + n, 255}
			if (x/250+y/250)%2 == 0 { // a checkerboard of edges
				c.B += 40
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

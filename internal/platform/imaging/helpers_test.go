package imaging

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Builders of encoded test images, made in the test rather than kept as
// binary fixtures.

// halves is a w×h image, left half red and right half blue.
func halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			if x >= w/2 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withEXIF returns the JPEG data with an APP1 EXIF segment, right after
// SOI, whose IFD0 holds one tag: Orientation = o, in the given byte order.
func withEXIF(data []byte, o uint16, order binary.AppendByteOrder) []byte {
	tiff := []byte("MM\x00\x2a")
	if order == binary.LittleEndian {
		tiff = []byte("II\x2a\x00")
	}
	tiff = order.AppendUint32(tiff, 8) // IFD0 right after the header
	tiff = order.AppendUint16(tiff, 1) // one entry
	tiff = order.AppendUint16(tiff, 0x0112)
	tiff = order.AppendUint16(tiff, 3) // SHORT
	tiff = order.AppendUint32(tiff, 1) // count
	tiff = order.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0)          // value field padding
	tiff = order.AppendUint32(tiff, 0) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, data[:2]...)
	out = append(out, seg...)
	return append(out, data[2:]...)
}

// pngHeader is a PNG that declares w×h RGBA pixels in a valid IHDR and has
// no pixel data: what an image bomb's header looks like.
func pngHeader(w, h uint32) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, deflate, no filter, no interlace
	return appendChunk(out, "IHDR", ihdr)
}

func appendChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	body := append([]byte(typ), data...)
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(body))
}

// progressiveJPEG hand-builds a valid grayscale progressive JPEG of w×h
// pixels with one DC scan and acScans AC scans. Every block is flat: the DC
// scan codes a zero difference per block, each AC scan a run of
// end-of-bands (32767 blocks per 15 bits), so an AC scan costs a few bytes
// however large the image.
func progressiveJPEG(w, h uint16, acScans int) []byte {
	segment := func(out []byte, marker byte, payload ...byte) []byte {
		out = append(out, 0xFF, marker)
		out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
		return append(out, payload...)
	}
	// A Huffman table with one code, "0", for one symbol.
	table := func(class byte, symbol byte) []byte {
		t := []byte{class << 4, 1}
		t = append(t, make([]byte, 15)...)
		return append(t, symbol)
	}
	out := []byte{0xFF, 0xD8}
	out = segment(out, 0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...) // DQT
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0}
	out = segment(out, 0xC2, sof...)            // SOF2: progressive
	out = segment(out, 0xC4, table(0, 0x00)...) // DC: difference category 0
	out = segment(out, 0xC4, table(1, 0xE0)...) // AC: EOBRUN with 14 more bits
	blocks := ((int(w) + 7) / 8) * ((int(h) + 7) / 8)

	out = segment(out, 0xDA, 1, 1, 0x00, 0, 0, 0) // DC scan
	var dc bitWriter
	for range blocks {
		dc.bits(0, 1)
	}
	out = append(out, dc.flush()...)
	for range acScans {
		out = segment(out, 0xDA, 1, 1, 0x00, 1, 63, 0) // AC scan, coefficients 1..63
		var ac bitWriter
		for n := 0; n < blocks; n += 32767 {
			ac.bits(0, 1)        // the EOBRUN symbol
			ac.bits(1<<14-1, 14) // run = 2^14 + 16383 blocks
		}
		out = append(out, ac.flush()...)
	}
	return append(out, 0xFF, 0xD9)
}

// bitWriter writes entropy-coded JPEG data: bits MSB first, an 0xFF byte
// followed by a stuffed 0x00, the last byte padded with ones.
type bitWriter struct {
	out  []byte
	acc  uint32
	nacc int
}

func (b *bitWriter) bits(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		b.acc = b.acc<<1 | (v>>i)&1
		b.nacc++
		if b.nacc == 8 {
			b.emit()
		}
	}
}

func (b *bitWriter) emit() {
	c := byte(b.acc)
	b.out = append(b.out, c)
	if c == 0xFF {
		b.out = append(b.out, 0)
	}
	b.acc, b.nacc = 0, 0
}

func (b *bitWriter) flush() []byte {
	for b.nacc != 0 {
		b.bits(1, 1)
	}
	return b.out
}

package imaging

import (
	"bytes"
	"encoding/binary"
	"image"

	dimaging "github.com/disintegration/imaging"
)

// JPEG markers that jpegMeta tells apart.
const (
	markerEOI  = 0xD9 // end of image
	markerSOS  = 0xDA // start of scan: entropy-coded data follows the segment
	markerAPP1 = 0xE1 // EXIF lives here
)

// jpegMeta walks the markers of the JPEG data and returns its EXIF
// orientation (1 when there is none or it cannot be read) and how many scans
// it has. It stops quietly at anything malformed: judging the data is the
// decoder's job, and the decoder stops there too.
func jpegMeta(data []byte) (orientation, scans int) {
	orientation = 1
	for i := 2; i+1 < len(data); { // data starts with the SOI marker
		if data[i] != 0xFF {
			return orientation, scans
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			i++
			continue
		case m == markerEOI:
			return orientation, scans
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // TEM, RSTn: no segment
			i += 2
			continue
		}
		if i+4 > len(data) {
			return orientation, scans
		}
		end := i + 2 + int(binary.BigEndian.Uint16(data[i+2:]))
		if end < i+4 || end > len(data) {
			return orientation, scans
		}
		segment := data[i+4 : end]
		i = end
		switch m {
		case markerAPP1:
			if o := exifOrientation(segment); o != 0 && orientation == 1 {
				orientation = o
			}
		case markerSOS:
			scans++
			i = skipEntropyData(data, i)
		}
	}
	return orientation, scans
}

// skipEntropyData returns the index of the first marker at or after i that
// ends a scan's entropy-coded data: an 0xFF not followed by a stuffed 0x00,
// a restart marker or another 0xFF. It returns len(data) when there is none.
func skipEntropyData(data []byte, i int) int {
	for {
		j := bytes.IndexByte(data[i:], 0xFF)
		if j < 0 || i+j+1 >= len(data) {
			return len(data)
		}
		i += j
		switch c := data[i+1]; {
		case c == 0x00 || (c >= 0xD0 && c <= 0xD7):
			i += 2
		case c == 0xFF:
			i++
		default:
			return i
		}
	}
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 from an APP1
// segment's payload. It returns 1 to 8, or 0 when the payload is not EXIF or
// has no valid orientation.
func exifOrientation(p []byte) int {
	if len(p) < 14 || string(p[:6]) != "Exif\x00\x00" {
		return 0
	}
	tiff := p[6:] // offsets count from the TIFF header
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0
	}
	if order.Uint16(tiff[2:]) != 42 {
		return 0
	}
	ifd := uint64(order.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > uint64(len(tiff)) {
		return 0
	}
	entries := tiff[ifd+2:]
	for range order.Uint16(tiff[ifd:]) {
		if len(entries) < 12 {
			return 0
		}
		// An entry: tag, type, count, value (a SHORT sits in its first 2 bytes).
		if order.Uint16(entries) == 0x0112 {
			if v := order.Uint16(entries[8:]); order.Uint16(entries[2:]) == 3 && v >= 1 && v <= 8 {
				return int(v)
			}
			return 0
		}
		entries = entries[12:]
	}
	return 0
}

// orient turns img as EXIF orientation o says, so it displays upright.
func orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return dimaging.FlipH(img)
	case 3:
		return dimaging.Rotate180(img)
	case 4:
		return dimaging.FlipV(img)
	case 5:
		return dimaging.Transpose(img)
	case 6:
		return dimaging.Rotate270(img) // 90° clockwise
	case 7:
		return dimaging.Transverse(img)
	case 8:
		return dimaging.Rotate90(img) // 90° counter-clockwise
	}
	return img
}

package blob

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Benchmarks: put and get throughput on each backend against a plain
// io.Copy file copy (with the same fsync a put does) on the same disk. The
// source is a file, so both sides read the same bytes the same way.
//
//	go test -run '^$' -bench . -benchtime 20x ./internal/platform/blob/
//
// MB/s is the figure to compare; S3 runs when TESSERA_TEST_S3_URL is set.

var benchSizes = []int64{1 << 20, 64 << 20}

func benchSource(b *testing.B, size int64) *os.File {
	b.Helper()
	p := filepath.Join(b.TempDir(), "src")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, newGen(size, 42)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	return f
}

func rewind(b *testing.B, f *os.File) {
	b.Helper()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPut(b *testing.B) {
	for _, size := range benchSizes {
		name := fmt.Sprintf("%dMiB", size>>20)
		b.Run("copy/"+name, func(b *testing.B) {
			src := benchSource(b, size)
			dir := b.TempDir()
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				rewind(b, src)
				dst, err := os.Create(filepath.Join(dir, fmt.Sprint(i%4)))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(dst, src); err != nil {
					b.Fatal(err)
				}
				if err := dst.Sync(); err != nil {
					b.Fatal(err)
				}
				if err := dst.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("fs/"+name, func(b *testing.B) {
			benchPut(b, newFSBench(b), size)
		})
		b.Run("s3/"+name, func(b *testing.B) {
			benchPut(b, newS3(b).store, size)
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, size := range benchSizes {
		name := fmt.Sprintf("%dMiB", size>>20)
		b.Run("copy/"+name, func(b *testing.B) {
			src := benchSource(b, size)
			b.SetBytes(size)
			for b.Loop() {
				f, err := os.Open(src.Name())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, f); err != nil {
					b.Fatal(err)
				}
				_ = f.Close()
			}
		})
		b.Run("fs/"+name, func(b *testing.B) {
			benchGet(b, newFSBench(b), size)
		})
		b.Run("s3/"+name, func(b *testing.B) {
			benchGet(b, newS3(b).store, size)
		})
	}
}

func newFSBench(b *testing.B) Store {
	b.Helper()
	s, err := Open(b.Context(), "file://"+filepath.ToSlash(b.TempDir()), Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchPut(b *testing.B, s Store, size int64) {
	src := benchSource(b, size)
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		rewind(b, src)
		if _, err := s.Put(b.Context(), fmt.Sprintf("bench/%d", i%4), src, PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGet(b *testing.B, s Store, size int64) {
	if _, err := s.Put(b.Context(), "bench/get", newGen(size, 42), PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		rc, _, err := s.Get(b.Context(), "bench/get", nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		_ = rc.Close()
	}
}

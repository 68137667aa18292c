// Package blobtest gives tests a real S3 bucket: .ci/run starts versitygw
// and sets TESSERA_TEST_S3_URL (s3://bucket?endpoint=http://host:port&region=…)
// and its keys; without them the S3 tests skip.
package blobtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Environment of the S3 tests.
const (
	EnvURL    = "TESSERA_TEST_S3_URL"
	EnvAccess = "TESSERA_TEST_S3_ACCESS_KEY"
	EnvSecret = "TESSERA_TEST_S3_SECRET_KEY" //nolint:gosec // the name of a variable, not a secret
)

// Env returns the S3 test URL and keys, skipping the test when unset.
func Env(t testing.TB) (u *url.URL, access, secret string) {
	t.Helper()
	raw := os.Getenv(EnvURL)
	if raw == "" {
		t.Skipf("S3 backend not tested: set %s (e.g. s3://tessera-test?endpoint=http://127.0.0.1:7070&region=us-east-1) and %s/%s; .ci/run starts versitygw and sets them",
			EnvURL, EnvAccess, EnvSecret)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	return u, os.Getenv(EnvAccess), os.Getenv(EnvSecret)
}

// Bucket is a fresh bucket of the S3 test server.
type Bucket struct {
	// URL is the blob store URL naming the bucket (s3://<bucket>?…).
	URL            *url.URL
	Name           string
	Access, Secret string
	// Client is a plain minio client for setup and inspection.
	Client *minio.Client
}

// NewBucket makes a bucket <env bucket>-<random> and empties and removes it
// when the test ends; it skips the test when S3 is not configured.
func NewBucket(t testing.TB) Bucket {
	t.Helper()
	u, access, secret := Env(t)
	ep, err := url.Parse(u.Query().Get("endpoint"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(ep.Host, &minio.Options{
		Creds: credentials.NewStaticV4(access, secret, ""), Secure: ep.Scheme == "https",
		Region: u.Query().Get("region"), BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	name := u.Host + "-" + strings.ToLower(rand.Text()[:10])
	ctx := context.Background()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: u.Query().Get("region")}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		for up := range c.ListIncompleteUploads(ctx, name, "", true) {
			if up.Err == nil {
				_ = c.RemoveIncompleteUpload(ctx, name, up.Key)
			}
		}
		for o := range c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = c.RemoveObject(ctx, name, o.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := c.RemoveBucket(ctx, name); err != nil {
			t.Logf("remove bucket %s: %v", name, err)
		}
	})
	bu := *u
	bu.Host = name
	return Bucket{URL: &bu, Name: name, Access: access, Secret: secret, Client: c}
}

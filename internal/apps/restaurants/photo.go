package restaurants

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/imaging"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The profile photo pipeline (the seed's S3 upload + object-created Lambda).
const (
	blobCreatedEvent = blob.CreatedEvent
	// uploadPrefix is where signed uploads land: uploads/<restaurant>/<id>.
	uploadPrefix = appName + "/uploads/"
	// photoPrefix holds the processed photos: photos/<restaurant>/<id>.jpg.
	photoPrefix = appName + "/photos/"
	// MaxPhotoBytes bounds an uploaded photo.
	MaxPhotoBytes = 10 << 20
	// PhotoSize and ThumbnailSize are the longer sides of the stored images.
	PhotoSize     = 1024
	ThumbnailSize = 256
	// uploadTTL is how long an upload URL is valid.
	uploadTTL = 15 * time.Minute
	// jpegQuality of the stored images.
	jpegQuality = 85
	// maxPhotoPixels bounds a photo's header dimensions: 24 megapixels takes
	// any phone's photo and bounds one decode at a few hundred MiB.
	maxPhotoPixels = 24_000_000
)

// PhotoUpload is the answer of POST /restaurants/{id}/photo: where and how to
// upload the image bytes.
type PhotoUpload struct {
	UploadURL string            `json:"upload_url"`
	Method    string            `json:"method" enum:"PUT"`
	Headers   map[string]string `json:"headers" doc:"Headers to send with the PUT."`
	ExpiresAt time.Time         `json:"expires_at"`
	MaxBytes  int64             `json:"max_bytes" doc:"The largest accepted image, in bytes."`
}

// StartPhotoUpload hands restaurant id's manager a signed URL to PUT a new
// profile photo to; the upload's arrival triggers processPhoto.
func (s *Service) StartPhotoUpload(ctx context.Context, c caller, id string) (PhotoUpload, error) {
	key := uploadPrefix + id + "/" + newID()
	expires := s.now().Add(uploadTTL)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if _, err := s.visibleRestaurant(ctx, tx, c, id); err != nil {
			return err
		}
		if !c.managerOf(id) {
			return fault.New(fault.Forbidden, "only the restaurant's manager changes its photo")
		}
		_, err := tx.Exec(ctx, `INSERT INTO restaurants_photo_uploads (blob_key, restaurant_id, expires_at) VALUES (?, ?, ?)`,
			key, id, micros(expires))
		return err
	})
	if err != nil {
		return PhotoUpload{}, err
	}
	url, err := s.blobs.SignedPutURL(key, uploadTTL, blob.PutOptions{MaxBytes: MaxPhotoBytes, ContentType: "application/octet-stream"})
	if err != nil {
		return PhotoUpload{}, err
	}
	return PhotoUpload{UploadURL: url, Method: "PUT", Headers: map[string]string{"Content-Type": "application/octet-stream"},
		ExpiresAt: expires, MaxBytes: MaxPhotoBytes}, nil
}

// processPhoto is the object-created handler: it checks the uploaded bytes
// are a PNG, JPEG or WebP image within the limits, stores a 1024 px photo and
// a 256 px thumbnail re-encoded as JPEG (no metadata), points the restaurant
// at them and emits photo_updated. Anything else is rejected
// (photo_rejected), the old photo kept. The upload row makes it run once.
func (s *Service) processPhoto(ctx context.Context, e events.Event) error {
	key := e.Subject
	if !strings.HasPrefix(key, uploadPrefix) {
		return nil // another app's object
	}
	var restaurantID string
	err := s.db.QueryRow(ctx, `SELECT restaurant_id FROM restaurants_photo_uploads WHERE blob_key = ?`, key).Scan(&restaurantID)
	if err := store.NotFound(err, "upload"); err != nil {
		if fault.CodeOf(err) == fault.NotFound {
			return nil // done already, or never handed out
		}
		return err
	}
	photo, thumb, procErr := s.renderPhoto(ctx, key)
	if procErr != nil && fault.CodeOf(procErr) != fault.Invalid && fault.CodeOf(procErr) != fault.TooLarge {
		return procErr // the store failed: retry
	}
	id := key[strings.LastIndexByte(key, '/')+1:]
	photoKey, thumbKey := photoPrefix+restaurantID+"/"+id+".jpg", photoPrefix+restaurantID+"/"+id+"-thumb.jpg"
	if procErr == nil {
		if err := s.putJPEG(ctx, photoKey, photo); err != nil {
			return err
		}
		if err := s.putJPEG(ctx, thumbKey, thumb); err != nil {
			return err
		}
	}
	var old []string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		old = nil
		res, err := tx.Exec(ctx, `DELETE FROM restaurants_photo_uploads WHERE blob_key = ?`, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // another run took it
		}
		r, err := s.restaurant(ctx, tx, restaurantID)
		if err != nil {
			return err
		}
		if procErr != nil {
			return s.emit(ctx, tx, EventRestaurantPhotoRejected, restaurantID, map[string]any{"restaurantId": restaurantID, "reason": fault.As(procErr).Message})
		}
		old = []string{r.photoKey, r.thumbKey}
		r.photoKey, r.thumbKey, r.UpdatedAt = photoKey, thumbKey, s.now()
		if _, err := tx.Exec(ctx, `UPDATE restaurants_restaurants SET photo_key = ?, thumb_key = ?, updated_at = ? WHERE id = ?`,
			photoKey, thumbKey, micros(r.UpdatedAt), restaurantID); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventRestaurantPhotoUpdated, restaurantID, restaurantPayload{Restaurant: r})
	})
	if err != nil {
		return err
	}
	for _, k := range append(old, key) {
		if k != "" {
			if err := s.blobs.Delete(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// renderPhoto decodes the upload and returns the encoded photo and
// thumbnail; an image the pipeline refuses is a fault.Invalid or
// fault.TooLarge error.
func (s *Service) renderPhoto(ctx context.Context, key string) (photo, thumb []byte, err error) {
	rc, _, err := s.blobs.Get(ctx, key, nil)
	if err != nil {
		if fault.CodeOf(err) == fault.NotFound {
			return nil, nil, fault.New(fault.Invalid, "the upload is gone")
		}
		return nil, nil, err
	}
	defer rc.Close()
	// One decode at a time per node: a crafted image within the limits can
	// need hundreds of MiB (docs/performance.md, Image processing).
	select {
	case s.photoSlot <- struct{}{}:
		defer func() { <-s.photoSlot }()
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	img, _, err := imaging.Decode(rc, imaging.Limits{MaxBytes: MaxPhotoBytes, MaxPixels: maxPhotoPixels})
	if err != nil {
		return nil, nil, err
	}
	var pb, tb bytes.Buffer
	big := imaging.Fit(img, PhotoSize)
	if err := imaging.EncodeJPEG(&pb, big, jpegQuality); err != nil {
		return nil, nil, err
	}
	if err := imaging.EncodeJPEG(&tb, imaging.Fit(big, ThumbnailSize), jpegQuality); err != nil {
		return nil, nil, err
	}
	return pb.Bytes(), tb.Bytes(), nil
}

func (s *Service) putJPEG(ctx context.Context, key string, b []byte) error {
	_, err := s.blobs.Put(ctx, key, bytes.NewReader(b), blob.PutOptions{ContentType: "image/jpeg"})
	return err
}

// sweepUploads forgets upload URLs that expired unused (an hour's grace for
// a slow upload's event) and removes their objects, if any.
func (s *Service) sweepUploads(ctx context.Context) error {
	keys, err := s.expiredUploads(ctx, micros(s.now().Add(-time.Hour)))
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		errs = append(errs, s.blobs.Delete(ctx, k))
		if _, err := s.db.Exec(ctx, `DELETE FROM restaurants_photo_uploads WHERE blob_key = ?`, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// expiredUploads lists the upload keys that expired before cutoff.
func (s *Service) expiredUploads(ctx context.Context, cutoff int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT blob_key FROM restaurants_photo_uploads WHERE expires_at < ?`, cutoff)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, store.Normalize(err)
		}
		keys = append(keys, k)
	}
	return keys, store.Normalize(rows.Err())
}

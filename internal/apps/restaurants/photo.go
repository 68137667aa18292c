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
	// ConfirmCron is how often pending uploads are confirmed on S3.
	ConfirmCron = "@every 5s"
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
		if _, err := s.staffRestaurant(ctx, tx, c, id, true, "change its photo"); err != nil {
			return err
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
	return s.settleUpload(ctx, key, restaurantID, photoKey, thumbKey, procErr)
}

// settleUpload ends upload key: with procErr nil the restaurant's photo
// becomes photoKey / thumbKey (photo_updated), else the upload is rejected
// (photo_rejected, and the restaurant's photoRejection tells its staff why)
// and the old photo kept. The upload row is taken in the
// same transaction, so only one run settles it; the upload and the replaced
// photo are deleted after commit.
func (s *Service) settleUpload(ctx context.Context, key, restaurantID, photoKey, thumbKey string, procErr error) error {
	var old []string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
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
			reason := fault.As(procErr).Message
			if _, err := tx.Exec(ctx, `UPDATE restaurants_restaurants SET photo_rejected_at = ?, photo_rejected_reason = ? WHERE id = ?`,
				micros(s.now()), reason, restaurantID); err != nil {
				return err
			}
			return s.emit(ctx, tx, EventRestaurantPhotoRejected, restaurantID, map[string]any{"restaurantId": restaurantID, "reason": reason})
		}
		old = []string{r.photoKey, r.thumbKey}
		r.photoKey, r.thumbKey, r.UpdatedAt, r.PhotoRejection = photoKey, thumbKey, s.now(), nil
		if _, err := tx.Exec(ctx, `UPDATE restaurants_restaurants SET photo_key = ?, thumb_key = ?, updated_at = ?,
			photo_rejected_at = 0, photo_rejected_reason = '' WHERE id = ?`,
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
	// One decode at a time per process (docs/performance.md, Image
	// processing).
	release, err := imaging.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer release()
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
	ups, err := s.uploadKeys(ctx, "<", micros(s.now().Add(-time.Hour)))
	if err != nil {
		return err
	}
	var errs []error
	for _, up := range ups {
		errs = append(errs, s.blobs.Delete(ctx, up.key))
		if _, err := s.db.Exec(ctx, `DELETE FROM restaurants_photo_uploads WHERE blob_key = ?`, up.key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// confirmUploads is the object-created check of direct uploads (S3 has no
// callback here; the filesystem's signed URL handler emits the event
// itself): every pending upload whose object exists is confirmed, which
// emits blob.object.created, whose handler processes it. Confirm deletes an
// object over the size limit. Runs every few seconds, once across nodes.
func (s *Service) confirmUploads(ctx context.Context) error {
	ups, err := s.uploadKeys(ctx, ">=", micros(s.now().Add(-time.Hour)))
	if err != nil {
		return err
	}
	for _, up := range ups {
		if _, err := s.blobs.Stat(ctx, up.key); fault.CodeOf(err) == fault.NotFound {
			continue // not uploaded (yet)
		} else if err != nil {
			return err
		}
		_, err := s.blobs.Confirm(ctx, up.key, blob.PutOptions{MaxBytes: MaxPhotoBytes})
		switch fault.CodeOf(err) {
		case fault.Internal: // nil, or a failure to retry
			if err != nil {
				return err
			}
		case fault.TooLarge, fault.Invalid: // Confirm deleted the object
			if err := s.settleUpload(ctx, up.key, up.restaurantID, "", "", err); err != nil {
				return err
			}
		case fault.NotFound: // settled meanwhile
		default:
			return err
		}
	}
	return nil
}

// pendingUpload is a row of restaurants_photo_uploads.
type pendingUpload struct{ key, restaurantID string }

// uploadKeys lists the pending uploads whose expiry is op ("<" or ">=")
// cutoff.
func (s *Service) uploadKeys(ctx context.Context, op string, cutoff int64) ([]pendingUpload, error) {
	rows, err := s.db.Query(ctx, `SELECT blob_key, restaurant_id FROM restaurants_photo_uploads WHERE expires_at `+op+` ?`, cutoff)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	var ups []pendingUpload
	for rows.Next() {
		var up pendingUpload
		if err := rows.Scan(&up.key, &up.restaurantID); err != nil {
			return nil, store.Normalize(err)
		}
		ups = append(ups, up)
	}
	return ups, store.Normalize(rows.Err())
}

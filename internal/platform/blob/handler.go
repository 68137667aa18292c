package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// PathPrefix is where Handler is mounted and where the filesystem backend's
// signed URLs point: <PublicURL>/blobs/<key>?….
const PathPrefix = "/blobs/"

// Query parameters of a signed URL. The signature covers the method, the
// key, the expiry and every constraint, so none can be changed or dropped.
const (
	qExpires  = "expires"  // unix seconds
	qMax      = "max"      // PUT: size limit
	qSHA      = "sha256"   // PUT: expected digest
	qType     = "type"     // PUT: content type stored
	qFilename = "filename" // GET: download name
	qSig      = "sig"      // base64url HMAC-SHA256
)

// signedRequest is what a signed URL allows.
type signedRequest struct {
	Method   string
	Key      string
	Expires  time.Time
	Opts     PutOptions // PUT
	Filename string     // GET
}

// mac is the HMAC-SHA256 of the request's canonical form: one field per
// line, so no field can bleed into the next (keys, digests, numbers and
// content types hold no newline; a file name's newlines are escaped by
// strconv.Quote).
func (r signedRequest) mac(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, f := range []string{
		"tessera-blob-v1", r.Method, r.Key, strconv.FormatInt(r.Expires.Unix(), 10),
		strconv.FormatInt(r.Opts.MaxBytes, 10), r.Opts.SHA256, r.Opts.ContentType, strconv.Quote(r.Filename),
	} {
		m.Write([]byte(f))
		m.Write([]byte{'\n'})
	}
	return m.Sum(nil)
}

func (s *fsStore) signURL(r signedRequest, ttl time.Duration) (string, error) {
	if len(s.opts.SigningKey) == 0 || s.opts.PublicURL == "" {
		return "", errors.New("blob: signed URLs need Options.SigningKey and Options.PublicURL")
	}
	if ttl <= 0 {
		return "", errors.New("blob: signed URL ttl must be positive")
	}
	q := url.Values{}
	q.Set(qExpires, strconv.FormatInt(r.Expires.Unix(), 10))
	if r.Method == http.MethodPut {
		if r.Opts.MaxBytes > 0 {
			q.Set(qMax, strconv.FormatInt(r.Opts.MaxBytes, 10))
		}
		if r.Opts.SHA256 != "" {
			q.Set(qSHA, r.Opts.SHA256)
		}
		q.Set(qType, r.Opts.ContentType)
	}
	if r.Filename != "" {
		q.Set(qFilename, r.Filename)
	}
	q.Set(qSig, base64.RawURLEncoding.EncodeToString(r.mac(s.opts.SigningKey)))
	return strings.TrimRight(s.opts.PublicURL, "/") + PathPrefix + r.Key + "?" + q.Encode(), nil
}

// parseSigned reads and checks the signed request req carries.
func parseSigned(req *http.Request, key []byte, now time.Time) (signedRequest, error) {
	denied := fault.New(fault.Forbidden, "invalid or expired signature")
	k, ok := strings.CutPrefix(req.URL.Path, PathPrefix)
	if !ok || len(key) == 0 {
		return signedRequest{}, fault.New(fault.NotFound, "not found")
	}
	if err := checkKey(k); err != nil {
		return signedRequest{}, fault.New(fault.NotFound, "not found")
	}
	q := req.URL.Query()
	r := signedRequest{Method: req.Method, Key: k, Filename: q.Get(qFilename)}
	if r.Method == http.MethodHead {
		r.Method = http.MethodGet
	}
	exp, err := strconv.ParseInt(q.Get(qExpires), 10, 64)
	if err != nil {
		return signedRequest{}, denied
	}
	r.Expires = time.Unix(exp, 0)
	if r.Method == http.MethodPut {
		if m := q.Get(qMax); m != "" {
			if r.Opts.MaxBytes, err = strconv.ParseInt(m, 10, 64); err != nil {
				return signedRequest{}, denied
			}
		}
		r.Opts.SHA256 = q.Get(qSHA)
		r.Opts.ContentType = q.Get(qType)
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get(qSig))
	if err != nil || !hmac.Equal(sig, r.mac(key)) {
		return signedRequest{}, denied
	}
	if !now.Before(r.Expires) {
		return signedRequest{}, denied
	}
	return r, nil
}

// Handler serves the filesystem backend's signed URLs under PathPrefix
// (mount it on "/blobs/"): GET and HEAD through Serve (ranges and
// conditional requests against ETag = the quoted SHA-256), and PUT (the
// body streamed into Put under the URL's constraints; 201 with the Object
// as JSON, then Options.OnCreated). A bad, tampered or expired signature is
// 403, every failure an RFC 9457 problem. For an S3 store it answers 404:
// its URLs point at S3.
func Handler(s Store) http.Handler {
	fsys, ok := s.(*fsStore)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok {
			httpapi.WriteProblem(w, r, fault.New(fault.NotFound, "not found"))
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPut:
		default:
			w.Header().Set("Allow", "GET, HEAD, PUT")
			httpapi.WriteProblem(w, r, errMethodNotAllowed)
			return
		}
		req, err := parseSigned(r, fsys.opts.SigningKey, time.Now())
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		if req.Method == http.MethodPut {
			fsys.servePut(w, r, req)
			return
		}
		Serve(w, r, fsys, req.Key, ServeOptions{Filename: req.Filename})
	})
}

// statusError is a problem of a status fault has no code for (405, 416),
// for WriteProblem.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string  { return e.msg }
func (e *statusError) GetStatus() int { return e.status }

var errMethodNotAllowed = &statusError{http.StatusMethodNotAllowed, "method not allowed"}

func (s *fsStore) servePut(w http.ResponseWriter, r *http.Request, req signedRequest) {
	if req.Opts.MaxBytes > 0 && r.ContentLength > req.Opts.MaxBytes {
		httpapi.WriteProblem(w, r, errTooLarge(req.Opts.MaxBytes))
		return
	}
	obj, err := s.Put(r.Context(), req.Key, r.Body, req.Opts)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if s.opts.OnCreated != nil {
		s.opts.OnCreated(r.Context(), obj)
	}
	body, err := json.Marshal(obj)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"`+obj.SHA256+`"`)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(append(body, '\n'))
}

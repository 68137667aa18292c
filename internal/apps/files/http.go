package files

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// The HTTP API of files.md. Uploads and downloads stream: their operations
// read the request and write the response through the underlying
// net/http values (humago.Unwrap), never buffering a body.

// SignedURLTTL is how long GET /files/{id}/url's URL is valid.
const SignedURLTTL = 15 * time.Minute

// caller is the request's user.
func caller(ctx context.Context) (Caller, error) {
	p, ok := authz.FromContext(ctx)
	if !ok {
		return Caller{}, fault.New(fault.Unauthorized, "a bearer token is required")
	}
	return CallerOf(p)
}

// as adapts an operation made as the request's caller.
func as[I, O any](fn func(ctx context.Context, c Caller, in *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		c, err := caller(ctx)
		if err != nil {
			return nil, err
		}
		return fn(ctx, c, in)
	}
}

// rawRequest captures the request of an operation that reads its body
// itself.
type rawRequest struct {
	req *http.Request
}

// Resolve implements huma.Resolver.
func (r *rawRequest) Resolve(ctx huma.Context) []error {
	r.req, _ = humago.Unwrap(ctx)
	return nil
}

type createInput struct {
	rawRequest
	FileName      string `header:"X-File-Name" doc:"Raw bodies: the file's name, UTF-8, percent-encoded where needed (a literal % is %25)."`
	Folder        string `header:"X-Folder" doc:"Raw bodies: the folder (default /), percent-encoded like X-File-Name."`
	Digest        string `header:"Digest" doc:"Optional: sha-256=<base64 of the SHA-256> (RFC 3230); a mismatch is 400 and stores nothing."`
	ContentDigest string `header:"Content-Digest" doc:"Optional: sha-256=:<base64>: (RFC 9530), the same check."`
}

type contentInput struct {
	rawRequest
	ID            string `path:"id" doc:"The file's id."`
	IfMatch       string `header:"If-Match" maxLength:"64" doc:"Optional: the ETag you read; a stale one is 412 and stores nothing."`
	Digest        string `header:"Digest" doc:"Optional: sha-256=<base64> (RFC 3230)."`
	ContentDigest string `header:"Content-Digest" doc:"Optional: sha-256=:<base64>: (RFC 9530)."`
}

// fileOutput is one file, its revision as ETag.
type fileOutput struct {
	Location string `header:"Location" doc:"The new file's URL (uploads only)."`
	ETag     string `header:"ETag" doc:"The file's revision, for If-Match."`
	Body     File
}

func fileOut(f File, created bool) *fileOutput {
	o := &fileOutput{ETag: httpapi.VersionETag(f.Revision), Body: f}
	if created {
		o.Location = "/" + appName + "/" + f.ID
	}
	return o
}

type idInput struct {
	ID string `path:"id" doc:"The file's id."`
}

type listInput struct {
	Folder       string `query:"folder" maxLength:"4096" doc:"Only this folder (not its subfolders)."`
	SharedWithMe bool   `query:"shared_with_me" doc:"Files of others shared with you, in every org, instead of your org's."`
	Trashed      bool   `query:"trashed" doc:"The trash (files you may manage) instead."`
	Q            string `query:"q" maxLength:"255" doc:"Only names containing this text (case-insensitive)."`
	Limit        int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor       string `query:"cursor" maxLength:"8192" doc:"The next_cursor of the previous page."`
}

type versionsInput struct {
	ID     string `path:"id" doc:"The file's id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"20" doc:"The next_cursor of the previous page."`
}

type downloadInput struct {
	ID      string `path:"id" doc:"The file's id."`
	Version int64  `query:"version" minimum:"0" doc:"A version number; default the current one."`
}

type urlOutput struct {
	Body struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

type patchInput struct {
	ID      string `path:"id" doc:"The file's id."`
	IfMatch string `header:"If-Match" maxLength:"64" doc:"Optional: the ETag you read; a stale one is 412."`
	Body    struct {
		Name   *string `json:"name,omitempty" maxLength:"1024" doc:"A new name."`
		Folder *string `json:"folder,omitempty" maxLength:"4096" doc:"A new folder."`
	}
}

type deleteInput struct {
	ID        string `path:"id" doc:"The file's id."`
	Permanent bool   `query:"permanent" doc:"Delete for good, blobs included, instead of moving to the trash."`
	IfMatch   string `header:"If-Match" maxLength:"64" doc:"Optional: the ETag you read; a stale one is 412."`
}

type grantInput struct {
	ID   string `path:"id" doc:"The file's id."`
	Body struct {
		PrincipalType string `json:"principal_type" enum:"user,org,space"`
		PrincipalID   string `json:"principal_id" minLength:"1" maxLength:"255"`
		Access        string `json:"access" enum:"read,write,manage"`
	}
}

type grantOutput struct {
	Body Grant
}

type grantKeyInput struct {
	ID            string `path:"id" doc:"The file's id."`
	PrincipalType string `path:"principal_type" enum:"user,org,space"`
	PrincipalID   string `path:"principal_id" maxLength:"255"`
}

type linkInput struct {
	ID   string `path:"id" doc:"The file's id."`
	Body LinkInput
}

type linkOutput struct {
	Location string `header:"Location"`
	Body     Link
}

type linkKeyInput struct {
	ID     string `path:"id" doc:"The file's id."`
	LinkID string `path:"link_id" doc:"The link's id."`
}

type openLinkInput struct {
	rawRequest
	Token    string `path:"token" maxLength:"64" doc:"The link's token."`
	Password string `query:"password" maxLength:"256" doc:"The link's password, when it has one (or HTTP Basic with any user name)."`
}

type itemsOutput[T any] struct {
	Body struct {
		Items []T `json:"items" nullable:"false"`
	}
}

func items[T any](list []T, err error) (*itemsOutput[T], error) {
	if err != nil {
		return nil, err
	}
	o := &itemsOutput[T]{}
	o.Body.Items = list
	return o, nil
}

type uploadInput struct {
	Body UploadInput
}

type uploadOutput struct {
	Body Upload
}

type uploadIDInput struct {
	ID string `path:"upload_id" doc:"The upload's id."`
}

type settingsOutput struct {
	Body Settings
}

type settingsInput struct {
	Body struct {
		ExternalSharing bool `json:"external_sharing" doc:"Whether files may be shared with users outside the org."`
	}
}

func (s *Service) registerREST(api huma.API) {
	tags := []string{appName}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: appName + "-" + id, Method: method, Path: path, Summary: summary, Description: desc, Tags: tags}
	}
	binary := func() *huma.RequestBody {
		bin := &huma.MediaType{Schema: &huma.Schema{Type: "string", Format: "binary"}}
		return &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/octet-stream": bin, "multipart/form-data": {
			Schema: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
				"file": {Type: "string", Format: "binary"}, "folder": {Type: "string"}, "name": {Type: "string"}}}}}}
	}

	create := op("upload", http.MethodPost, "", "Upload a file",
		"Members of the org. A raw body (name in X-File-Name, type in Content-Type, folder in X-Folder) or multipart/form-data with "+
			"one file part (fields folder and name may precede it). Streamed to the blob store; over files.max_upload or the org's quota "+
			"is 413 (before any byte is stored when Content-Length says so). The type is sniffed from the bytes; the declared one is "+
			"kept when they agree.")
	create.DefaultStatus = http.StatusCreated
	huma.Register(api, create, as(func(ctx context.Context, c Caller, in *createInput) (*fileOutput, error) {
		f, err := s.createFrom(ctx, c, in)
		if err != nil {
			return nil, err
		}
		return fileOut(f, true), nil
	}))
	documentBody(api, http.MethodPost, "/"+appName, binary())

	put := op("put-content", http.MethodPut, "/{id}/content", "Upload a new version",
		"Write access. The raw body becomes the next version; with If-Match the file must still be at that revision (else 412).")
	huma.Register(api, put, as(func(ctx context.Context, c Caller, in *contentInput) (*fileOutput, error) {
		v, _, err := httpapi.ParseIfMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		body, err := contentOf(in.req, in.Digest, in.ContentDigest)
		if err != nil {
			return nil, err
		}
		f, err := s.AddVersion(ctx, c, in.ID, v, body)
		if err != nil {
			return nil, err
		}
		return fileOut(f, false), nil
	}))
	documentBody(api, http.MethodPut, "/"+appName+"/{id}/content", &huma.RequestBody{Required: true,
		Content: map[string]*huma.MediaType{"application/octet-stream": {Schema: &huma.Schema{Type: "string", Format: "binary"}}}})

	huma.Register(api, op("list", http.MethodGet, "", "List files",
		"Files you can read in your org (X-Org-ID), or shared with you (shared_with_me), or your trash (trashed); by folder, name and id."),
		as(func(ctx context.Context, c Caller, in *listInput) (*httpapi.ListOutput[File], error) {
			q := ListQuery{SharedWithMe: in.SharedWithMe, Trashed: in.Trashed, Q: in.Q, Limit: in.Limit, Cursor: in.Cursor}
			if in.Folder != "" {
				q.Folder = &in.Folder
			}
			list, next, err := s.List(ctx, c, q)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(list, next), nil
		}))

	huma.Register(api, op("get", http.MethodGet, "/{id}", "Get a file's metadata",
		"Read access (404 otherwise, as for a missing file); with your effective access. The ETag is its revision."),
		as(func(ctx context.Context, c Caller, in *idInput) (*fileOutput, error) {
			f, err := s.Get(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return fileOut(f, false), nil
		}))

	huma.Register(api, op("download", http.MethodGet, "/{id}/content", "Download a file",
		"Read access. Streamed with ETag, Content-Length, Range (206, several ranges as multipart/byteranges, 416 out of bounds) "+
			"and Content-Disposition: attachment with a safe name."),
		as(func(ctx context.Context, c Caller, in *downloadInput) (*huma.StreamResponse, error) {
			st, err := s.Content(ctx, c, in.ID, in.Version)
			if err != nil {
				return nil, err
			}
			etag := httpapi.VersionETag(st.File.Revision)
			if in.Version != 0 {
				etag = `"` + st.Version.SHA256 + `"`
			}
			return s.serve(st, st.Key, blob.ServeOptions{ETag: etag, Filename: st.File.Name, ContentType: st.Version.ContentType}), nil
		}))

	huma.Register(api, op("thumbnail", http.MethodGet, "/{id}/thumbnail", "Get a file's thumbnail",
		"Read access. A 256 px JPEG of the current version, for PNG, JPEG and WebP images once made (404 before, and for other types)."),
		as(func(ctx context.Context, c Caller, in *idInput) (*huma.StreamResponse, error) {
			st, err := s.Content(ctx, c, in.ID, 0)
			if err != nil {
				return nil, err
			}
			if !st.Thumb {
				return nil, fault.New(fault.NotFound, "this file has no thumbnail")
			}
			return s.serve(st, thumbKey(st.Key), blob.ServeOptions{ContentType: "image/jpeg"}), nil
		}))

	huma.Register(api, op("url", http.MethodGet, "/{id}/url", "Get a signed download URL",
		"Read access. A URL anyone may GET the version from for 15 minutes."),
		as(func(ctx context.Context, c Caller, in *downloadInput) (*urlOutput, error) {
			st, err := s.Content(ctx, c, in.ID, in.Version)
			if err != nil {
				return nil, err
			}
			// The URL expires at a whole second no later than this.
			expires := time.Now().UTC().Truncate(time.Second).Add(SignedURLTTL)
			u, err := s.blobs.SignedGetURL(st.Key, SignedURLTTL, st.File.Name)
			if err != nil {
				return nil, err
			}
			o := &urlOutput{}
			o.Body.URL, o.Body.ExpiresAt = u, expires
			return o, nil
		}))

	huma.Register(api, op("update", http.MethodPatch, "/{id}", "Rename or move a file",
		"Write access. Fields absent stay; with If-Match the file must still be at that revision (else 412)."),
		as(func(ctx context.Context, c Caller, in *patchInput) (*fileOutput, error) {
			v, _, err := httpapi.ParseIfMatch(in.IfMatch)
			if err != nil {
				return nil, err
			}
			f, err := s.Update(ctx, c, in.ID, v, Patch{Name: in.Body.Name, Folder: in.Body.Folder})
			if err != nil {
				return nil, err
			}
			return fileOut(f, false), nil
		}))

	del := op("delete", http.MethodDelete, "/{id}", "Trash or delete a file",
		"Manage access. Moves the file to the trash (restorable for 30 days, then purged); with permanent=true deletes it and its blobs.")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, as(func(ctx context.Context, c Caller, in *deleteInput) (*struct{}, error) {
		v, _, err := httpapi.ParseIfMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		if in.Permanent {
			return nil, s.Delete(ctx, c, in.ID, v)
		}
		_, err = s.Trash(ctx, c, in.ID, v)
		return nil, err
	}))

	huma.Register(api, op("restore", http.MethodPost, "/{id}/restore", "Restore a file from the trash", "Manage access."),
		as(func(ctx context.Context, c Caller, in *idInput) (*fileOutput, error) {
			f, err := s.Restore(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return fileOut(f, false), nil
		}))

	huma.Register(api, op("versions", http.MethodGet, "/{id}/versions", "List a file's versions", "Read access; newest first, a page at a time."),
		as(func(ctx context.Context, c Caller, in *versionsInput) (*httpapi.ListOutput[Version], error) {
			list, next, err := s.Versions(ctx, c, in.ID, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(list, next), nil
		}))

	huma.Register(api, op("grants", http.MethodGet, "/{id}/grants", "List a file's grants", "Manage access."),
		as(func(ctx context.Context, c Caller, in *idInput) (*itemsOutput[Grant], error) {
			return items(s.Grants(ctx, c, in.ID))
		}))

	huma.Register(api, op("grant", http.MethodPut, "/{id}/grants", "Share a file",
		"Manage access. Gives a user, the file's org or one of its spaces read, write or manage access, or changes it. "+
			"A user outside the org is 422 unless the org allows external sharing; another org, or a space of another org, is 422."),
		as(func(ctx context.Context, c Caller, in *grantInput) (*grantOutput, error) {
			g, _, err := s.PutGrant(ctx, c, in.ID, in.Body.PrincipalType, in.Body.PrincipalID, in.Body.Access)
			if err != nil {
				return nil, err
			}
			return &grantOutput{Body: g}, nil
		}))

	revoke := op("revoke", http.MethodDelete, "/{id}/grants/{principal_type}/{principal_id}", "Revoke a grant",
		"Manage access. Applies from the next request on.")
	revoke.DefaultStatus = http.StatusNoContent
	huma.Register(api, revoke, as(func(ctx context.Context, c Caller, in *grantKeyInput) (*struct{}, error) {
		return nil, s.RemoveGrant(ctx, c, in.ID, in.PrincipalType, in.PrincipalID)
	}))

	link := op("link", http.MethodPost, "/{id}/links", "Create a public link",
		"Manage access. The answer's url (shown once) serves the current version to anyone, until expires_at or deletion, "+
			"asking for the password when one is set.")
	link.DefaultStatus = http.StatusCreated
	huma.Register(api, link, as(func(ctx context.Context, c Caller, in *linkInput) (*linkOutput, error) {
		l, err := s.CreateLink(ctx, c, in.ID, in.Body)
		if err != nil {
			return nil, err
		}
		return &linkOutput{Location: "/" + appName + "/" + in.ID + "/links", Body: l}, nil
	}))

	huma.Register(api, op("links", http.MethodGet, "/{id}/links", "List a file's public links", "Manage access; without their URLs."),
		as(func(ctx context.Context, c Caller, in *idInput) (*itemsOutput[Link], error) {
			return items(s.Links(ctx, c, in.ID))
		}))

	unlink := op("unlink", http.MethodDelete, "/{id}/links/{link_id}", "Delete a public link", "Manage access; the link stops working at once.")
	unlink.DefaultStatus = http.StatusNoContent
	huma.Register(api, unlink, as(func(ctx context.Context, c Caller, in *linkKeyInput) (*struct{}, error) {
		return nil, s.DeleteLink(ctx, c, in.ID, in.LinkID)
	}))

	huma.Register(api, op("open-link", http.MethodGet, "/links/{token}/content", "Open a public link",
		"Anyone with the URL: the file's current version, as a download. A link with a password takes ?password= or HTTP Basic "+
			"(401 with a challenge otherwise); an expired or deleted link, or a file in the trash, is 404."),
		func(ctx context.Context, in *openLinkInput) (*huma.StreamResponse, error) {
			pw := in.Password
			if _, basic, ok := in.req.BasicAuth(); ok && pw == "" {
				pw = basic
			}
			st, err := s.OpenLink(ctx, in.Token, pw)
			if err != nil {
				return nil, err
			}
			return s.serve(st, st.Key, blob.ServeOptions{ETag: `"` + st.Version.SHA256 + `"`, Filename: st.File.Name, ContentType: st.Version.ContentType}), nil
		})

	start := op("start-upload", http.MethodPost, "/uploads", "Start a direct upload",
		"Members of the org. Answers a signed URL to PUT exactly size bytes to; then call complete (the object-created hook completes "+
			"it otherwise). Over files.max_upload or the quota is 413.")
	start.DefaultStatus = http.StatusCreated
	huma.Register(api, start, as(func(ctx context.Context, c Caller, in *uploadInput) (*uploadOutput, error) {
		u, err := s.StartUpload(ctx, c, in.Body)
		if err != nil {
			return nil, err
		}
		return &uploadOutput{Body: u}, nil
	}))

	complete := op("complete-upload", http.MethodPost, "/uploads/{upload_id}/complete", "Complete a direct upload",
		"The uploader. Checks the object (size as announced, SHA-256 when given) and answers the new file (201); completing again "+
			"answers the same file. 409 when nothing was uploaded yet; 422 when the upload was refused (the object is deleted).")
	complete.DefaultStatus = http.StatusCreated
	huma.Register(api, complete, as(func(ctx context.Context, c Caller, in *uploadIDInput) (*fileOutput, error) {
		f, err := s.CompleteUpload(ctx, c, in.ID)
		if err != nil {
			return nil, err
		}
		return fileOut(f, true), nil
	}))

	huma.Register(api, op("settings", http.MethodGet, "/settings", "Get the org's file settings", "Members: sharing setting, use and quota."),
		as(func(ctx context.Context, c Caller, _ *struct{}) (*settingsOutput, error) {
			st, err := s.GetSettings(ctx, c)
			return &settingsOutput{Body: st}, err
		}))
	huma.Register(api, op("put-settings", http.MethodPut, "/settings", "Change the org's file settings",
		"Owners and admins of the org. Turning external sharing off stops existing grants to outsiders at once."),
		as(func(ctx context.Context, c Caller, in *settingsInput) (*settingsOutput, error) {
			st, err := s.SetExternalSharing(ctx, c, in.Body.ExternalSharing)
			return &settingsOutput{Body: st}, err
		}))
}

// documentBody describes the body of an operation that reads it itself:
// declared at registration, Huma would read and decode it.
func documentBody(api huma.API, method, path string, rb *huma.RequestBody) {
	if item := api.OpenAPI().Paths[path]; item != nil {
		switch method {
		case http.MethodPost:
			item.Post.RequestBody = rb
		case http.MethodPut:
			item.Put.RequestBody = rb
		}
	}
}

// serve streams key of st as the response.
func (s *Service) serve(st Stored, key string, opts blob.ServeOptions) *huma.StreamResponse {
	if opts.Modified.IsZero() {
		opts.Modified = st.Version.CreatedAt
	}
	return &huma.StreamResponse{Body: func(ctx huma.Context) {
		r, w := humago.Unwrap(ctx)
		blob.Serve(w, r, s.blobs, key, opts)
	}}
}

// createFrom reads an upload request: a raw body or multipart.
func (s *Service) createFrom(ctx context.Context, c Caller, in *createInput) (File, error) {
	r := in.req
	digest, err := expectedDigest(in.Digest, in.ContentDigest)
	if err != nil {
		return File{}, err
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		name, err := headerText("header.X-File-Name", in.FileName)
		if err != nil {
			return File{}, err
		}
		folder, err := headerText("header.X-Folder", in.Folder)
		if err != nil {
			return File{}, err
		}
		if name == "" {
			return File{}, fault.WithFields("invalid file name", fault.FieldError{Location: "header.X-File-Name", Message: "required with a raw body"})
		}
		return s.Create(ctx, c, name, folder, Content{Body: r.Body, Size: r.ContentLength, ContentType: r.Header.Get("Content-Type"), SHA256: digest})
	}
	if r.ContentLength > s.opts.MaxUpload+multipartSlack {
		return File{}, errTooBig(s.opts.MaxUpload)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return File{}, fault.New(fault.Malformed, "bad multipart body: %v", err)
	}
	folder, name := "", ""
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return File{}, fault.WithFields("no file", fault.FieldError{Location: "body.file", Message: "a multipart upload needs one file part"})
		}
		if err != nil {
			return File{}, fault.New(fault.Malformed, "bad multipart body: %v", err)
		}
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		filename, isFile := params["filename"]
		if !isFile {
			v, err := io.ReadAll(io.LimitReader(part, 4097))
			if err != nil {
				return File{}, fault.New(fault.Malformed, "bad multipart body: %v", err)
			}
			if len(v) > 4096 {
				return File{}, fault.WithFields("field too long", fault.FieldError{Location: "body." + part.FormName(), Message: "at most 4096 bytes"})
			}
			switch part.FormName() {
			case "folder":
				folder = string(v)
			case "name":
				name = string(v)
			}
			continue
		}
		if name == "" {
			name = filename
		}
		check := func() error {
			next, err := mr.NextPart()
			switch {
			case err == io.EOF:
				return nil
			case err != nil:
				return fault.New(fault.Malformed, "bad multipart body: %v", err)
			case next.FileName() != "":
				return fault.WithFields("several files", fault.FieldError{Location: "body", Message: "one file per request"})
			}
			return nil
		}
		return s.Create(ctx, c, name, folder, Content{Body: part, Size: -1, ContentType: part.Header.Get("Content-Type"), SHA256: digest, In: "body", Check: check})
	}
}

// multipartSlack is what a multipart body may carry beyond the file.
const multipartSlack = 64 << 10

// headerText decodes a percent-encoded UTF-8 header value.
func headerText(location, v string) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	d, err := url.PathUnescape(v)
	if err != nil {
		return "", fault.WithFields("invalid header", fault.FieldError{Location: location, Message: "bad percent-encoding (write a literal % as %25)", Value: v})
	}
	return d, nil
}

// contentOf is a raw request body as new content.
func contentOf(r *http.Request, digestHeader, contentDigest string) (Content, error) {
	digest, err := expectedDigest(digestHeader, contentDigest)
	if err != nil {
		return Content{}, err
	}
	return Content{Body: r.Body, Size: r.ContentLength, ContentType: r.Header.Get("Content-Type"), SHA256: digest}, nil
}

// expectedDigest reads the SHA-256 a client announced, as lowercase hex
// ("" for none): Digest: sha-256=<base64> or Content-Digest:
// sha-256=:<base64>:. Other algorithms are ignored; a malformed sha-256
// value is 400.
func expectedDigest(digest, contentDigest string) (string, error) {
	var found []string
	for _, h := range []struct{ name, v string }{{"Digest", digest}, {"Content-Digest", contentDigest}} {
		for item := range strings.SplitSeq(h.v, ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(alg), "sha-256") {
				continue
			}
			val = strings.Trim(strings.TrimSpace(val), ":")
			raw, err := base64.StdEncoding.DecodeString(val)
			if err != nil || len(raw) != 32 {
				return "", fault.New(fault.Malformed, "%s: sha-256 must be the base64 of 32 bytes", h.name)
			}
			found = append(found, hex.EncodeToString(raw))
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	for _, d := range found[1:] {
		if d != found[0] {
			return "", &fault.Error{Code: fault.Malformed, Reason: ReasonDigestMismatch, Message: "Digest and Content-Digest disagree"}
		}
	}
	return found[0], nil
}

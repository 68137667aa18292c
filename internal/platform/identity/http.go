package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// The HTTP API under /auth (platform.md, Identity). Register it on the root
// API. Every route is public except /auth/me, which needs a principal with a
// user id (the authorizer's, from a platform access token).

// clientAddr resolves the client's IP, the key of per-IP throttling: the
// host of the request's RemoteAddr, which the edge rewrites from
// X-Forwarded-For only for the configured trusted_proxies.
// It also keeps the Content-Type of POST /auth/token (read here rather
// than as a header parameter, which would show in the OpenAPI document).
type clientAddr struct{ ip, contentType string }

// Resolve implements huma.Resolver.
func (c *clientAddr) Resolve(ctx huma.Context) []error {
	host, _, err := net.SplitHostPort(ctx.RemoteAddr())
	if err != nil {
		host = ctx.RemoteAddr()
	}
	c.ip, c.contentType = host, ctx.Header("Content-Type")
	return nil
}

type signupInput struct {
	Client clientAddr
	Body   struct {
		Email      string            `json:"email" minLength:"1" maxLength:"320" doc:"The address; case-insensitive, stored normalized."`
		Password   string            `json:"password" minLength:"1" maxLength:"1024" doc:"At least 12 characters, not a common password."`
		Name       string            `json:"name,omitempty" maxLength:"200"`
		ClientID   string            `json:"client_id,omitempty" maxLength:"128" doc:"The app client signing up; it decides which attributes may be set."`
		Attributes map[string]string `json:"attributes,omitempty" doc:"Custom attributes the client allows."`
	}
}

type userOutput struct {
	Location string `header:"Location"`
	Body     User
}

type confirmInput struct {
	Body struct {
		Email string `json:"email" minLength:"1" maxLength:"320"`
		Code  string `json:"code" minLength:"1" maxLength:"16" doc:"The 6-digit code mailed at sign-up."`
	}
}

type emailInput struct {
	Client clientAddr
	Body   struct {
		Email string `json:"email" minLength:"1" maxLength:"320"`
	}
}

type resetInput struct {
	Body struct {
		Email    string `json:"email" minLength:"1" maxLength:"320"`
		Code     string `json:"code" minLength:"1" maxLength:"16" doc:"The 6-digit code mailed by /auth/password/forgot."`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
	}
}

type logoutInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" minLength:"1" maxLength:"256"`
	}
}

// tokenRequest is the body of POST /auth/token, as JSON or as a form.
type tokenRequest struct {
	GrantType    string `json:"grant_type" enum:"password,refresh_token"`
	Email        string `json:"email,omitempty" maxLength:"320" doc:"grant_type password (alias: username)."`
	Username     string `json:"username,omitempty" maxLength:"320" doc:"OAuth 2 name of email."`
	Password     string `json:"password,omitempty" maxLength:"1024" doc:"grant_type password."`
	ClientID     string `json:"client_id,omitempty" maxLength:"128" doc:"The app client; the ID token's aud."`
	RefreshToken string `json:"refresh_token,omitempty" maxLength:"256" doc:"grant_type refresh_token."`
	Scope        string `json:"scope,omitempty" maxLength:"1024" doc:"Accepted and ignored."`
}

type tokenInput struct {
	Client  clientAddr
	RawBody []byte `contentType:"application/x-www-form-urlencoded"`
}

type tokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Pragma       string `header:"Pragma"`
	Body         TokenResponse
}

type meUpdateInput struct {
	Body struct {
		Name       *string           `json:"name,omitempty" maxLength:"200"`
		Attributes map[string]string `json:"attributes,omitempty" doc:"Attributes to set; an empty value removes one. Only those the user's client allows."`
	}
}

type meOutput struct {
	Body User
}

// parseTokenRequest decodes a JSON or form body; unknown fields are refused.
func parseTokenRequest(contentType string, body []byte) (tokenRequest, error) {
	var req tokenRequest
	mt, _, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mt, err = "application/json", nil
	}
	if err != nil {
		return req, fault.New(fault.Unsupported, "unsupported content type")
	}
	switch mt {
	case "application/json":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return req, fault.Wrap(err, fault.Malformed, "malformed JSON body")
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return req, fault.New(fault.Malformed, "malformed JSON body: trailing data")
		}
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return req, fault.Wrap(err, fault.Malformed, "malformed form body")
		}
		fields := map[string]*string{
			"grant_type": &req.GrantType, "email": &req.Email, "username": &req.Username, "password": &req.Password,
			"client_id": &req.ClientID, "refresh_token": &req.RefreshToken, "scope": &req.Scope,
		}
		for k, v := range vals {
			dst, ok := fields[k]
			if !ok {
				return req, fault.WithFields("unknown field", fault.FieldError{Location: "body." + k, Message: "unexpected property"})
			}
			if len(v) != 1 {
				return req, fault.WithFields("repeated field", fault.FieldError{Location: "body." + k, Message: "must appear once"})
			}
			*dst = v[0]
		}
	default:
		return req, fault.New(fault.Unsupported, "unsupported content type: use application/json or application/x-www-form-urlencoded")
	}
	if req.Email == "" {
		req.Email = req.Username
	}
	if len(req.Email) > 320 || len(req.Password) > 1024 || len(req.ClientID) > 128 || len(req.RefreshToken) > 256 || len(req.Scope) > 1024 {
		return req, fault.WithFields("value too long", fault.FieldError{Location: "body", Message: "a value is too long"})
	}
	return req, nil
}

func callerID(ctx context.Context) (string, error) {
	pr, ok := authz.FromContext(ctx)
	if !ok || pr.UserID == "" || pr.Via != authz.ViaPlatform {
		return "", fault.New(fault.Unauthorized, "authentication required")
	}
	return pr.UserID, nil
}

// Register adds the /auth operations to api (the root API: paths are
// absolute).
func (p *Pool) Register(api huma.API) {
	tags := []string{"auth"}
	huma.Register(api, huma.Operation{
		OperationID: "auth-signup", Method: http.MethodPost, Path: "/auth/signup", DefaultStatus: http.StatusCreated,
		Summary: "Sign up", Tags: tags,
		Description: "Creates an unconfirmed user and mails a 6-digit confirmation code. An address that is taken gets the same answer " +
			"(nothing is created; its owner is mailed a notice). Rate-limited per client IP.",
	}, func(ctx context.Context, in *signupInput) (*userOutput, error) {
		u, err := p.CreateAccount(ctx, in.Client.ip, SignUp{Email: in.Body.Email, Password: in.Body.Password, Name: in.Body.Name,
			ClientID: in.Body.ClientID, Attributes: in.Body.Attributes})
		if err != nil {
			return nil, err
		}
		return &userOutput{Location: "/auth/me", Body: u}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-confirm", Method: http.MethodPost, Path: "/auth/confirm", DefaultStatus: http.StatusNoContent,
		Summary: "Confirm an address", Tags: tags,
		Description: "A wrong, expired or locked code (after 5 wrong tries) is 422, the same for unknown addresses.",
	}, func(ctx context.Context, in *confirmInput) (*struct{}, error) {
		return nil, p.ConfirmAccount(ctx, in.Body.Email, in.Body.Code)
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-confirm-resend", Method: http.MethodPost, Path: "/auth/confirm/resend", DefaultStatus: http.StatusAccepted,
		Summary: "Mail a new confirmation code", Tags: tags,
		Description: "The same answer whether or not the address has an unconfirmed account. Rate-limited per client IP.",
	}, func(ctx context.Context, in *emailInput) (*struct{}, error) {
		return nil, p.resend(ctx, in.Client.ip, in.Body.Email)
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-token", Method: http.MethodPost, Path: "/auth/token",
		Summary: "Get tokens", Tags: tags,
		Description: "OAuth 2 style: grant_type password (email, password, client_id?) or refresh_token, as JSON or " +
			"application/x-www-form-urlencoded. Refresh tokens rotate on every use; reusing one revokes its family. " +
			"Failed sign-ins back off per account and per client IP (429 with Retry-After).",
	}, func(ctx context.Context, in *tokenInput) (*tokenOutput, error) {
		req, err := parseTokenRequest(in.Client.contentType, in.RawBody)
		if err != nil {
			return nil, err
		}
		var res TokenResponse
		switch req.GrantType {
		case "password":
			res, err = p.SignIn(ctx, in.Client.ip, req.Email, req.Password, req.ClientID)
		case "refresh_token":
			res, err = p.Refresh(ctx, req.RefreshToken)
		default:
			err = fault.WithFields("unsupported grant_type", fault.FieldError{Location: "body.grant_type", Message: "must be password or refresh_token", Value: req.GrantType})
		}
		if err != nil {
			return nil, err
		}
		return &tokenOutput{CacheControl: "no-store", Pragma: "no-cache", Body: res}, nil
	})
	if op := api.OpenAPI().Paths["/auth/token"]; op != nil && op.Post != nil && op.Post.RequestBody != nil {
		schema := huma.SchemaFromType(api.OpenAPI().Components.Schemas, reflect.TypeFor[tokenRequest]())
		op.Post.RequestBody.Content = map[string]*huma.MediaType{
			"application/json":                  {Schema: schema},
			"application/x-www-form-urlencoded": {Schema: schema},
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "auth-logout", Method: http.MethodPost, Path: "/auth/logout", DefaultStatus: http.StatusNoContent,
		Summary: "Sign out", Tags: tags, Description: "Revokes the refresh token's family. Unknown tokens get the same answer.",
	}, func(ctx context.Context, in *logoutInput) (*struct{}, error) {
		return nil, p.logout(ctx, in.Body.RefreshToken)
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-password-forgot", Method: http.MethodPost, Path: "/auth/password/forgot", DefaultStatus: http.StatusAccepted,
		Summary: "Mail a password reset code", Tags: tags,
		Description: "The same answer whether or not the address has an account. Rate-limited per client IP.",
	}, func(ctx context.Context, in *emailInput) (*struct{}, error) {
		return nil, p.ForgotPassword(ctx, in.Client.ip, in.Body.Email)
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-password-reset", Method: http.MethodPost, Path: "/auth/password/reset", DefaultStatus: http.StatusNoContent,
		Summary: "Reset the password with a mailed code", Tags: tags,
		Description: "Revokes every refresh token of the user. A wrong, expired or locked code (after 5 wrong tries) is 422.",
	}, func(ctx context.Context, in *resetInput) (*struct{}, error) {
		return nil, p.ResetPassword(ctx, in.Body.Email, in.Body.Code, in.Body.Password)
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-me", Method: http.MethodGet, Path: "/auth/me",
		Summary: "The signed-in user", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*meOutput, error) {
		id, err := callerID(ctx)
		if err != nil {
			return nil, err
		}
		u, err := p.GetUser(ctx, id)
		if fault.Is(err, fault.NotFound) {
			return nil, fault.New(fault.Unauthorized, "authentication required")
		}
		if err != nil {
			return nil, err
		}
		return &meOutput{Body: u}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-me-update", Method: http.MethodPatch, Path: "/auth/me",
		Summary: "Update the signed-in user", Tags: tags,
		Description: "Name and custom attributes (only those the user's client allows; an empty value removes one). " +
			"Access tokens carry the new attributes from the next refresh.",
	}, func(ctx context.Context, in *meUpdateInput) (*meOutput, error) {
		id, err := callerID(ctx)
		if err != nil {
			return nil, err
		}
		u, err := p.UpdateUser(ctx, id, UserUpdate{Name: in.Body.Name, Attributes: in.Body.Attributes})
		if fault.Is(err, fault.NotFound) {
			return nil, fault.New(fault.Unauthorized, "authentication required")
		}
		if err != nil {
			return nil, err
		}
		return &meOutput{Body: u}, nil
	})
}

package scheduling

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

// Close codes of the scheduling socket.
const (
	// StatusTokenExpired: the access token expired; refresh and reconnect
	// (subscribing again with since).
	StatusTokenExpired realtime.StatusCode = 4001
	// StatusRemoved: the user was removed from the org.
	StatusRemoved realtime.StatusCode = 4003
)

// ClientID is the app's client of the user pool (tokens from the
// anonymous socket's signIn carry it).
const ClientID = "scheduling"

// session is what a scheduling connection knows of its user.
type session struct {
	orgID, userID string
}

// socket serves GET /scheduling/ws: the token is checked before the
// upgrade (401), the org is the token's or ?org_id=, and every action
// re-reads the caller's role.
type socket struct {
	svc     *Service
	hub     *realtime.Hub
	auth    *authz.Authorizer
	actions realtime.Actions
}

func newSocket(svc *Service, hub *realtime.Hub, auth *authz.Authorizer) *socket {
	s := &socket{svc: svc, hub: hub, auth: auth}
	s.actions = realtime.Actions{}
	for name, fn := range svc.actions() {
		s.actions[name] = s.withCaller(fn)
	}
	return s
}

func (s *socket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, proto, err := s.auth.AuthenticateUpgrade(r, appName)
	var c Caller
	if err == nil {
		c, err = s.svc.CallerOf(r.Context(), p)
	}
	if err == nil && c.Admin {
		err = fault.New(fault.Forbidden, "the scheduling socket is for members: admin keys use /admin/scheduling")
	}
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	opts := realtime.AcceptOptions{Value: session{orgID: c.OrgID, userID: c.UserID}, OnMessage: s.actions.Handle}
	if proto != "" {
		opts.Subprotocols = []string{proto}
	}
	conn, err := s.hub.Accept(w, r, opts)
	if err != nil {
		return // Accept wrote the answer
	}
	if !p.ExpiresAt.IsZero() {
		expiry := time.AfterFunc(time.Until(p.ExpiresAt), func() {
			conn.Close(StatusTokenExpired, "token expired: refresh it and reconnect")
		})
		// Stopped when the connection ends, however early.
		context.AfterFunc(conn.Context(), func() { expiry.Stop() })
	}
}

// withCaller runs an action as the connection's user with the role read
// now; a user no longer in the org is refused and disconnected (4003).
func (s *socket) withCaller(fn func(context.Context, Caller, realtime.Request) (any, error)) realtime.ActionFunc {
	return func(ctx context.Context, req realtime.Request) (any, error) {
		sess, _ := req.Conn.Value().(session)
		c, err := s.svc.reload(ctx, Caller{OrgID: sess.orgID, UserID: sess.userID})
		if fault.Is(err, fault.Forbidden) {
			req.Conn.Close(StatusRemoved, "removed from the organization")
		}
		if err != nil {
			return nil, err
		}
		res, err := fn(ctx, c, req)
		return res, dataFields(err)
	}
}

// closeRemoved closes, on this node, the sockets of a user removed from an
// org (the hub's Watch runs it on every node).
func (s *socket) closeRemoved(orgID, userID string) {
	s.hub.CloseWhere(func(c *realtime.Conn) bool {
		sess, ok := c.Value().(session)
		return ok && sess.orgID == orgID && sess.userID == userID
	}, StatusRemoved, "removed from the organization")
}

// dataFields relocates an error's body.* field locations to data.*, where
// the websocket carries them.
func dataFields(err error) error {
	f := fault.As(err)
	if f == nil || len(f.Fields) == 0 {
		return err
	}
	g := *f
	g.Fields = make([]fault.FieldError, len(f.Fields))
	for i, fe := range f.Fields {
		if rest, ok := strings.CutPrefix(fe.Location, "body."); ok {
			fe.Location = "data." + rest
		}
		g.Fields[i] = fe
	}
	return &g
}

// decode decodes an action's data (see realtime.DecodeData).
func decode[T any](req realtime.Request) (T, error) {
	var v T
	err := realtime.DecodeData(req.Data, &v)
	return v, err
}

// anonymous serves GET /scheduling/anonymous: the user pool's flows, with
// the policy and throttling of /auth, and nothing else.
type anonymous struct {
	hub     *realtime.Hub
	actions realtime.Actions
}

func newAnonymous(hub *realtime.Hub, users *identity.Pool) *anonymous {
	type creds struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name,omitempty"`
		Code     string `json:"code,omitempty"`
	}
	ip := func(req realtime.Request) string { ip, _ := req.Conn.Value().(string); return ip }
	done := struct{}{}
	return &anonymous{hub: hub, actions: realtime.Actions{
		"signUp": func(ctx context.Context, req realtime.Request) (any, error) {
			in, err := decode[creds](req)
			if err != nil {
				return nil, err
			}
			u, err := users.CreateAccount(ctx, ip(req), identity.SignUp{Email: in.Email, Password: in.Password, Name: in.Name, ClientID: ClientID})
			return u, dataFields(err)
		},
		"confirm": func(ctx context.Context, req realtime.Request) (any, error) {
			in, err := decode[creds](req)
			if err != nil {
				return nil, err
			}
			return done, dataFields(users.ConfirmAccount(ctx, in.Email, in.Code))
		},
		"signIn": func(ctx context.Context, req realtime.Request) (any, error) {
			in, err := decode[creds](req)
			if err != nil {
				return nil, err
			}
			t, err := users.SignIn(ctx, ip(req), in.Email, in.Password, ClientID)
			return t, dataFields(err)
		},
		"refresh": func(ctx context.Context, req realtime.Request) (any, error) {
			in, err := decode[struct {
				RefreshToken string `json:"refresh_token"`
			}](req)
			if err != nil {
				return nil, err
			}
			t, err := users.Refresh(ctx, in.RefreshToken)
			return t, dataFields(err)
		},
		"forgotPassword": func(ctx context.Context, req realtime.Request) (any, error) {
			in, err := decode[creds](req)
			if err != nil {
				return nil, err
			}
			return done, dataFields(users.ForgotPassword(ctx, ip(req), in.Email))
		},
		"resetPassword": func(ctx context.Context, req realtime.Request) (any, error) {
			in, err := decode[creds](req)
			if err != nil {
				return nil, err
			}
			return done, dataFields(users.ResetPassword(ctx, in.Email, in.Code, in.Password))
		},
	}}
}

func (a *anonymous) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The connection's value is the client's address, for the throttles.
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	_, _ = a.hub.Accept(w, r, realtime.AcceptOptions{Value: ip, OnMessage: a.actions.Handle}) // Accept answers a refusal itself
}

// action adapts a typed handler: each action decodes its data into In.
func action[In any](fn func(ctx context.Context, c Caller, in In) (any, error)) func(context.Context, Caller, realtime.Request) (any, error) {
	return func(ctx context.Context, c Caller, req realtime.Request) (any, error) {
		in, err := decode[In](req)
		if err != nil {
			return nil, err
		}
		return fn(ctx, c, in)
	}
}

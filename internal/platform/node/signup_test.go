package node

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// TestSignUpToMe walks the user pool through a node: sign up, read the code
// from the mail the durable handler wrote, confirm, sign in, call /auth/me
// with the access token. On both engines.
func TestSignUpToMe(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, engine)
			srv := openNode(t, cfg)
			const email, password = "Ada@Example.com", "correct horse battery staple"
			if status, body := testhttp.Do(t, "POST", srv.URL+"/auth/signup", `{"email":"`+email+`","password":"`+password+`","name":"Ada"}`); status != http.StatusCreated {
				t.Fatalf("signup: %d %s", status, body)
			}
			code := mailtest.Code(t, cfg.MailDir(), "ada@example.com")
			if status, body := testhttp.Do(t, "POST", srv.URL+"/auth/confirm", `{"email":"ada@example.com","code":"`+code+`"}`); status/100 != 2 {
				t.Fatalf("confirm: %d %s", status, body)
			}
			status, body := testhttp.Do(t, "POST", srv.URL+"/auth/token", `{"grant_type":"password","email":"ADA@example.com","password":"`+password+`"}`)
			var tok struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			if status != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatalf("token: %d %s", status, body)
			}
			status, body = testhttp.Do(t, "GET", srv.URL+"/auth/me", "", func(r *http.Request) {
				r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			})
			var me struct{ Email, Name string }
			err := json.Unmarshal([]byte(body), &me)
			if status != http.StatusOK || err != nil || me.Email != "ada@example.com" || me.Name != "Ada" {
				t.Fatalf("me: %d %s %v", status, body, err)
			}
			if status, _ := testhttp.Do(t, "POST", srv.URL+"/auth/token", `{"grant_type":"password","email":"ada@example.com","password":"wrong password here"}`); status != http.StatusUnauthorized {
				t.Errorf("wrong password: %d, want 401", status)
			}
		})
	}
}

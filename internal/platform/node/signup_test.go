package node

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"

	"github.com/tessera-dev/tessera/internal/platform/store"
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
			code := waitForCode(t, cfg.MailDir())
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

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// waitForCode reads the confirmation code from the first mail in dir.
func waitForCode(t *testing.T, dir string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			text := string(b)
			if i := strings.Index(text, "\r\n\r\n"); i >= 0 {
				text = text[i:] // the body, not the Date or Message-ID headers
			}
			if m := sixDigits.FindStringSubmatch(text); m != nil {
				return m[1]
			}
		}
	}
	t.Fatal("no confirmation mail within 30s")
	return ""
}

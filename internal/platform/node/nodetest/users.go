package nodetest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// SignUp signs a user up through /auth/signup with clientID (may be ""),
// confirms the address with the code the mail sink received and signs in:
// the way a person does it. It returns the user's id and an access token.
func (n *Node) SignUp(t testing.TB, email, password, name, clientID string) (id, token string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"email": email, "password": password, "name": name, "client_id": clientID})
	if err != nil {
		t.Fatal(err)
	}
	testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/auth/signup", string(body))
	code := mailtest.Code(t, n.Config.MailDir(), email)
	if status, resp := testhttp.Do(t, http.MethodPost, n.URL+"/auth/confirm", `{"email":"`+email+`","code":"`+code+`"}`); status/100 != 2 {
		t.Fatalf("confirm %s: %d %s", email, status, resp)
	}
	token = n.SignIn(t, email, password)
	var me struct{ ID string }
	if err := json.Unmarshal([]byte(testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/auth/me", "", testhttp.Bearer(token))), &me); err != nil {
		t.Fatal(err)
	}
	return me.ID, token
}

// SignIn returns a fresh access token of a user (the password grant), with
// their current attributes.
func (n *Node) SignIn(t testing.TB, email, password string) string {
	t.Helper()
	body, err := json.Marshal(map[string]string{"grant_type": "password", "email": email, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(testhttp.Expect(t, http.StatusOK, http.MethodPost, n.URL+"/auth/token", string(body))), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("sign in %s: %v", email, err)
	}
	return tok.AccessToken
}

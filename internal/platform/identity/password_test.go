package identity

import (
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

var fastArgon = Argon2Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", fastArgon)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %s", h)
	}
	if ok, rehash := CheckPassword("correct horse battery", h, fastArgon); !ok || rehash {
		t.Fatalf("check = %v %v", ok, rehash)
	}
	if ok, _ := CheckPassword("correct horse batterY", h, fastArgon); ok {
		t.Fatal("wrong password matched")
	}
	stronger := fastArgon
	stronger.Time = 2
	if ok, rehash := CheckPassword("correct horse battery", h, stronger); !ok || !rehash {
		t.Fatalf("changed params: ok=%v rehash=%v, want a rehash", ok, rehash)
	}
	h2, _ := HashPassword("correct horse battery", fastArgon)
	if h2 == h {
		t.Fatal("same salt twice")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=18$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA", "$argon2id$v=19$m=64,t=1,p=1$AAAA$"} {
		if ok, _ := CheckPassword("x", bad, fastArgon); ok {
			t.Errorf("malformed %q matched", bad)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for _, pw := range []string{"correct horse battery", "tr0ub4dor&3xyz", "ééééééééééé1", strings.Repeat("ab1", 80)} {
		if err := CheckPasswordPolicy("body.password", pw); err != nil {
			t.Errorf("%q: %v", pw, err)
		}
	}
	for _, pw := range []string{"", "short", "elevenchars", "password1234", "Password1234", "PASSWORD123!", "qwertyuiop123",
		"iloveyou1234", "111111111111", "123456789012", "1qaz2wsx3edc", strings.Repeat("x", MaxPasswordLength+1), "abc\xffdefghijklm"} {
		err := CheckPasswordPolicy("body.password", pw)
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("%q: %v, want invalid", pw, err)
			continue
		}
		if f := fault.As(err).Fields; len(f) != 1 || f[0].Location != "body.password" {
			t.Errorf("%q: fields %+v", pw, f)
		}
	}
	// 12 characters counted as code points: ten é (decomposed: 20 code points, NFC 10) + 2 → too short.
	if err := CheckPasswordPolicy("p", strings.Repeat("e\u0301", 10)+"ab"); err != nil {
		t.Errorf("12 code points after NFC: %v", err)
	}
	if err := CheckPasswordPolicy("p", strings.Repeat("e\u0301", 5)+"abcde"); err == nil {
		t.Error("10 NFC code points accepted")
	}
	if !IsCommonPassword("QwertyUIOP123") {
		t.Error("case-insensitive lookup failed")
	}
}

func TestNormalizeEmail(t *testing.T) {
	same := [][2]string{
		{"Admin@X.com", "admin@x.com"},
		{"  admin@x.com ", "admin@x.com"},
		{"ADMIN@EXAMPLE.COM", "admin@example.com"},
		{"Jose\u0301@example.com", "jos\u00e9@example.com"}, // decomposed vs precomposed
		{"JOS\u00c9@example.com", "jos\u00e9@example.com"},
		{"\u212bngstr\u00f6m@example.com", "\u00e5ngstr\u00f6m@example.com"}, // Angstrom sign → å
	}
	for _, c := range same {
		got, err := NormalizeEmail("body.email", c[0])
		if err != nil || got != c[1] {
			t.Errorf("%q → %q, %v; want %q", c[0], got, err, c[1])
		}
	}
	for _, bad := range []string{"", "admin", "@x.com", "admin@", "a@b@c.com", "ad min@x.com", "admin@x", "admin@.com", "admin@x.com.",
		"ad\u200bmin@x.com", "admin\x00@x.com", "\xff@x.com", strings.Repeat("a", 250) + "@x.com", "admin@x.com\n"} {
		if _, err := NormalizeEmail("body.email", bad); !fault.Is(err, fault.Invalid) {
			// "admin@x.com\n" is trimmed to a valid address: allowed.
			if bad == "admin@x.com\n" && err == nil {
				continue
			}
			t.Errorf("%q: %v, want invalid", bad, err)
		}
	}
}

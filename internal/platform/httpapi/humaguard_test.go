package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// Regression tests for the Huma uniqueItems panic FuzzRequest found (seed
// testdata/fuzz/FuzzRequest/b646c9ac1a89937f).
func TestUniqueItemsWithObjectItemIs422(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	for _, tags := range []string{`[{}]`, `[[1]]`, `["a",{"b":1},{"b":1}]`} {
		res, body := call(t, srv, "POST", "/test/shelves/1/widgets", nil,
			`{"name":"w","kind":"small","nested":{"level":1},"tags":`+tags+`}`)
		checkProblem(t, res, body, 422)
	}
	res, body := call(t, srv, "POST", "/test/shelves/1/widgets", nil, `{"name":"w","kind":"small","nested":{"level":1},"tags":["a","a"]}`)
	checkProblem(t, res, body, 422)
}

func TestUniqueItemsOnObjectsRefusedAtRegistration(t *testing.T) {
	t.Parallel()
	type item struct {
		A int `json:"a"`
	}
	type input struct {
		Body struct {
			Items []item `json:"items" uniqueItems:"true"`
		}
	}
	s := New(Options{})
	defer func() {
		v := recover()
		if v == nil || !strings.Contains(v.(string), "body.items") {
			t.Fatalf("recovered %v, want a registration panic naming body.items", v)
		}
	}()
	huma.Register(s.API(), huma.Operation{OperationID: "bad", Method: http.MethodPost, Path: "/bad"},
		func(context.Context, *input) (*struct{}, error) { return nil, nil })
}

func TestOtherPanicsPassTheGuard(t *testing.T) {
	t.Parallel()
	if isUniqueItemsPanic("hash of unhashable type") {
		t.Fatal("a string panic is not the Huma bug")
	}
	defer func() {
		v := recover()
		if v == nil || isUniqueItemsPanic(v) {
			t.Fatalf("an unhashable panic outside huma.handleArray was taken for the bug: %v", v)
		}
	}()
	m := map[any]bool{}
	m[[]int{1}] = true // a runtime hash panic, not in handleArray
}

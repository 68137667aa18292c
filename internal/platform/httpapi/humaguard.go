package httpapi

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Workarounds for a Huma v2.37.2 bug found by FuzzRequest: validating
// "uniqueItems" puts each array item in a map[any]struct{}, which panics
// ("hash of unhashable type") when an item is a JSON object or array.
//
//   - An array of objects or arrays with uniqueItems panics on every request,
//     valid or not: checkUniqueItems refuses such an operation at
//     registration (do the uniqueness check in the service instead).
//   - An array of scalars with uniqueItems panics when a client sends an
//     object or array as an item: invalid input, which guardValidation turns
//     into a 422 instead of a 500.
//
// Remove both when Huma checks item hashability (see validate.go,
// handleArray).

// humaValidationFrame is the function whose panic guardValidation catches.
const humaValidationFrame = "github.com/danielgtaylor/huma/v2.handleArray"

// guardValidation is a Huma middleware, so it runs around Huma's request
// decoding and validation (and the handler). It turns the uniqueItems panic
// into a 422 problem and lets every other panic through to recoverPanics.
func guardValidation(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if !isUniqueItemsPanic(v) {
				panic(v)
			}
			_ = huma.WriteErr(api, ctx, http.StatusUnprocessableEntity, "validation failed", &huma.ErrorDetail{
				Location: "body",
				Message:  "expected array items to be unique scalar values",
			})
		}()
		next(ctx)
	}
}

// isUniqueItemsPanic reports whether the panic being recovered is Huma's
// uniqueItems bug: a runtime hash error raised in handleArray.
func isUniqueItemsPanic(v any) bool {
	err, ok := v.(runtime.Error)
	if !ok || !strings.Contains(err.Error(), "hash of unhashable type") {
		return false
	}
	return strings.Contains(string(debug.Stack()), humaValidationFrame+"[")
}

// checkUniqueItems is an OnAddOperation hook: it panics, at registration,
// on an operation whose request body has an array of non-scalar items with
// uniqueItems (which Huma cannot validate without panicking).
func checkUniqueItems(oapi *huma.OpenAPI, op *huma.Operation) {
	if op.RequestBody == nil {
		return
	}
	reg := oapi.Components.Schemas
	seen := map[*huma.Schema]bool{}
	var walk func(s *huma.Schema, at string)
	walk = func(s *huma.Schema, at string) {
		if s == nil {
			return
		}
		if s.Ref != "" {
			s = reg.SchemaFromRef(s.Ref)
		}
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if s.Type == huma.TypeArray && s.UniqueItems {
			items := s.Items
			if items != nil && items.Ref != "" {
				items = reg.SchemaFromRef(items.Ref)
			}
			if items == nil || !isScalarType(items.Type) {
				panic(fmt.Sprintf("httpapi: operation %s: %s has uniqueItems on non-scalar items, which huma v2.37.2 "+
					"cannot validate (it panics); check uniqueness in the service instead", op.OperationID, at))
			}
		}
		walk(s.Items, at+"[]")
		for name, p := range s.Properties {
			walk(p, at+"."+name)
		}
		if ap, ok := s.AdditionalProperties.(*huma.Schema); ok {
			walk(ap, at+".*")
		}
		for _, list := range [][]*huma.Schema{s.OneOf, s.AnyOf, s.AllOf} {
			for _, sub := range list {
				walk(sub, at)
			}
		}
	}
	for _, mt := range op.RequestBody.Content {
		if mt != nil {
			walk(mt.Schema, "body")
		}
	}
}

func isScalarType(t string) bool {
	switch t {
	case huma.TypeString, huma.TypeInteger, huma.TypeNumber, huma.TypeBoolean:
		return true
	}
	return false
}

# Tessera's everyday commands. `make help` lists them.
GO      ?= go
LINT    ?= $(shell $(GO) env GOPATH)/bin/golangci-lint
PG_URL  ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

.PHONY: help run test race postgres lint bench fuzz ci

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-9s %s\n", $$1, $$2}'

run: ## start the server on the embedded defaults (SQLite in ./data)
	$(GO) run ./cmd/tessera serve

test: ## run the tests (Postgres variants skip unless TESSERA_TEST_POSTGRES_URL is set)
	$(GO) test ./...

race: ## run the tests with the race detector, on both engines
	TESSERA_TEST_POSTGRES_URL='$(PG_URL)' $(GO) test -race ./...

postgres: ## run the storage-touching tests on Postgres too
	TESSERA_TEST_POSTGRES_URL='$(PG_URL)' $(GO) test ./...

lint: ## golangci-lint with the curated list of .golangci.yml
	@test -x $(LINT) || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
	$(LINT) run ./...

bench: ## run the benchmarks (see docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## fuzz the HTTP request decoding path for a minute
	$(GO) test -run '^$$' -fuzz FuzzRequest -fuzztime 60s ./internal/platform/httpapi

ci: ## what CI runs (.ci/run)
	bash .ci/run

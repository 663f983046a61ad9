# f2bd: the two commands a newcomer runs are `make run` and `make test`.
GO      ?= go
BIN     := bin
GOFLAGS ?=
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build run test unit integration oracles deps vet bench clean

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/f2bd ./cmd/f2bctl

# Run f2bd in the foreground on this host's /etc/fail2ban, or on the
# built-in default config when there is none. Needs root or CAP_NET_ADMIN.
run: build
	$(BIN)/f2bd $(ARGS)

# Every test: unit tests, the journal reader built without cgo, and the
# end-to-end tests in network namespaces (root). scripts/deps.sh installs
# the system packages the tests use when they are missing.
test: deps vet
	$(GO) test -count=1 -timeout 30m ./...
	CGO_ENABLED=0 $(GO) test -count=1 ./journal/
	@$(MAKE) --no-print-directory oracles

# The fidelity figures against fail2ban itself, printed in CI's log.
oracles:
	@$(GO) test -count=1 -v -run 'TestCorpusConformance$$|TestDumpMatchesFail2banClient$$' ./pkg/filter ./cmd/f2bctl \
		| grep -E '^(corpus conformance|config oracle):' | sort -u | grep . 

unit: vet
	$(GO) test -count=1 -short $$($(GO) list ./... | grep -v /integration)

integration: deps
	$(GO) test -count=1 -v -timeout 30m ./integration/

deps:
	@scripts/deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# Hot paths measured beside fail2ban doing the same work, in one run.
bench: deps
	@scripts/bench.sh

clean:
	rm -rf $(BIN)

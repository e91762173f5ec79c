# carenode — the two commands a newcomer needs are `make run` and `make test`.
GO       ?= go
PKGS     := ./...
# Packages with concurrency, run again under the race detector.
RACE     := ./crdt/... ./node/... ./cmd/... ./sync/... ./devices/...
BIN      := bin/carenode
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

.PHONY: run test testdeps build cross bench bench-sync lint clean

## run: start a demo node with sample patients on 127.0.0.1:7420
run:
	$(GO) run ./cmd/carenode demo

## test: lint, all tests, then the race detector on concurrent packages
test: testdeps lint
	$(GO) test -count=1 $(PKGS)
	$(GO) test -count=1 -race $(RACE)

## testdeps: install socat and mosquitto for the device tests when missing (apt-get, as root)
testdeps:
	@bash scripts/testdeps.sh

## build: the node binary, pure Go (CGO_ENABLED=0)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/carenode

## cross: linux/amd64, linux/arm64 and windows/amd64 binaries in dist/
cross:
	CGO_ENABLED=0 GOOS=linux   GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/carenode-linux-amd64 ./cmd/carenode
	CGO_ENABLED=0 GOOS=linux   GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/carenode-linux-arm64 ./cmd/carenode
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/carenode-windows-amd64.exe ./cmd/carenode

## bench: the benchmarks recorded in docs/BENCHMARKS.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=5 ./crdt/ ./node/store/

## bench-sync: carenode's sync against PouchDB, side by side (needs node and npm; about 30 minutes; not part of test)
bench-sync:
	./scripts/bench-sync.sh

## lint: gofmt and go vet must be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin dist

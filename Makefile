# safeunpack: see README.md. Every target works on a fresh Debian machine with
# Go installed; `make deps` installs the Debian packages the tests need.

GO        ?= go
BIN       ?= bin/safeunpack
PKGS      ?= ./...
# Packages whose tests also run as an unprivileged user (see test-unprivileged).
UNPRIV_PKGS ?= ./procfs ./pathrs ./layer ./unpack ./cmd/safeunpack ./internal/userns ./internal/extgzip
# Packages with goroutines and shared state, also tested with the race detector.
RACE_PKGS ?= ./procfs ./pathrs ./layer ./internal/extgzip
# Fuzz budgets of fuzz-short (CI): a count of executions per target, not a
# duration. A duration run can fail at its deadline with a bare "context
# deadline exceeded" and no failing input, a race in Go 1.26's fuzz
# coordinator (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline
# to race. FUZZEXECS is the default; FUZZBUDGETS lowers it for the targets
# that run a whole layer per execution. Each takes 5 to 25 s on the 2-core CI
# machine. FUZZTIME, when set (make fuzz sets 5m), replaces every count.
FUZZEXECS   ?= 300000x
FUZZBUDGETS ?= FuzzApply=4000x FuzzResolve=30000x FuzzTarReader=80000x
FUZZTIME    ?=
# FUZZMINIMIZE bounds the minimizing of each new interesting input. At Go's
# default (60 s) a slow target stalls: its workers minimize one input for a
# minute, longer than the whole budget, and report no executions.
FUZZMINIMIZE ?= 100x
STATICCHECK_VERSION ?= v0.8.2
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
# Debian packages the tests use: crun (the bundle e2e tests), umoci (the
# rootless xattr encoding is checked against it), pigz and isal (igzip, the
# external gzip decoders), attr, strace, bsdtar, setpriv (util-linux).
DEB_PKGS  ?= crun umoci libarchive-tools attr strace pigz isal util-linux

.PHONY: all build test test-go test-unprivileged fuzz fuzz-short bench demo lint deps clean generate

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/safeunpack

# deps installs the Debian packages that tests and benchmarks use, once.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# test is the README's test command: the whole suite, then the unprivileged
# pass and a short fuzz run of every fuzz target.
test: deps build
	$(MAKE) test-go
	$(MAKE) test-unprivileged
	$(MAKE) fuzz-short

test-go:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 40m $(PKGS)
	$(GO) test -count=1 -race -short -timeout 20m $(RACE_PKGS)

# test-unprivileged compiles each package's tests and runs them as nobody, so
# the non-privileged part of the suite is exercised even when CI is root.
test-unprivileged:
	@if [ "$$(id -u)" != 0 ]; then echo "already unprivileged: test-go covered it"; exit 0; fi; \
	dir=$$(mktemp -d /tmp/safeunpack-unpriv.XXXXXX); chmod 755 $$dir; \
	trap 'rm -rf $$dir' EXIT; \
	for p in $(UNPRIV_PKGS); do \
		name=$$(echo $$p | tr / _ | tr -d .); \
		$(GO) test -c -o $$dir/$$name.test $$p || exit 1; \
		[ -f $$dir/$$name.test ] || continue; \
		echo "== $$p as nobody"; \
		( cd $$p && setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/ TMPDIR=/tmp \
			$$dir/$$name.test -test.short -test.count=1 ) || exit 1; \
	done

# fuzz-short runs every fuzz target briefly: its FUZZBUDGETS count, else
# FUZZEXECS, else FUZZTIME when that is set.
fuzz-short:
	@for p in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$p 2>/dev/null | grep '^Fuzz'); do \
			budget=$(FUZZEXECS); \
			for b in $(FUZZBUDGETS); do [ "$${b%%=*}" = "$$f" ] && budget=$${b#*=}; done; \
			[ -n "$(FUZZTIME)" ] && budget=$(FUZZTIME); \
			echo "== $$p $$f ($$budget)"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$budget -fuzzminimizetime $(FUZZMINIMIZE) $$p || exit 1; \
		done; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=5m

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# bench-e2e is issue 7's end-to-end benchmark (bench/README.md): it installs
# the Debian tools it needs, builds the data sets once (cached in
# BENCH_WORK), then times safeunpack against GNU tar, bsdtar and umoci on
# tmpfs and writes bench/out/results-<date>.md. Root is required (sudo is
# used otherwise). BENCHFLAGS=-quick is the CI smoke run. If safeunpack does
# not build, its rows are reported as not run (a stale binary is removed so
# that it is never measured by mistake).
BENCHFLAGS ?=
BENCH_WORK ?= /var/tmp/safeunpack-bench

.PHONY: bench-e2e
bench-e2e:
	@$(MAKE) build || { echo "bench-e2e: safeunpack does not build; benchmarking the other tools only"; rm -f $(BIN); }
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/bench-e2e ./bench
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO bin/bench-e2e -work $(BENCH_WORK) -safeunpack $(BIN) $(BENCHFLAGS)

# demo unpacks the committed demo image (testdata/images/demo, three layers
# with whiteouts, links, xattrs, a device node and a static program) into a
# bundle and starts it with crun. Root only: the image has a device node and
# files owned by uid 1000. On hosts with hybrid cgroups whose unified
# hierarchy has controllers, crun 1.8 refuses to start; the unified mount is
# then hidden from crun in a private mount namespace.
DEMO_BUNDLE ?= /tmp/safeunpack-demo
demo: build
	@if [ "$$(id -u)" != 0 ]; then echo "make demo needs root (it creates a device node and files of uid 1000): sudo make demo"; exit 1; fi
	@command -v crun >/dev/null || $(MAKE) deps DEB_PKGS=crun
	rm -rf $(DEMO_BUNDLE)
	$(BIN) list --image testdata/images/demo
	$(BIN) unpack --image testdata/images/demo:latest $(DEMO_BUNDLE)
	ls -l $(DEMO_BUNDLE) $(DEMO_BUNDLE)/rootfs/usr/share/demo $(DEMO_BUNDLE)/rootfs/opt/opaque
	@echo "== crun run --bundle $(DEMO_BUNDLE)"
	@id=safeunpack-demo-$$$$; \
	if grep -qs . /sys/fs/cgroup/unified/cgroup.controllers; then \
		unshare --mount --propagation private sh -c 'umount -l /sys/fs/cgroup/unified && exec "$$0" "$$@"' crun run --bundle $(DEMO_BUNDLE) $$id; \
	else \
		crun run --bundle $(DEMO_BUNDLE) $$id; \
	fi

# generate rewrites the committed test images (testdata/images) from
# internal/imagegen/genimages and testdata/src/hello; the output is
# deterministic for a given Go toolchain.
generate:
	$(GO) generate ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck $(PKGS)

clean:
	rm -rf bin

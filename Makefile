# mailoauth: the two commands of the quick start are `make demo` and `make test`.
GO      ?= go
BIN     := bin/mailoauth
PKGS    := ./...
DEMODIR := $(shell mktemp -u /tmp/mailoauth-demo.XXXXXX)

.PHONY: all build man install deb deb-check demo demo-cli demo-ssh demo-watch test fuzz vet fmt-check bench bench-bulk bench-proxy screenshots clean interop hooks

all: build

# --version shows the VCS revision: from Go's build info (-buildvcs, which
# this machine's GOFLAGS turns off and which a git worktree does not give),
# else from git here.
# VERSION, when set (make deb sets the package's), is the version it prints.
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION  ?=
LDFLAGS  := $(if $(REVISION),-X main.revision=$(REVISION)) $(if $(VERSION),-X main.version=$(VERSION))

build:
	$(GO) build -buildvcs=auto -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mailoauth

# The manual page, made by the binary from its own commands and flags.
man: build
	$(BIN) man > bin/mailoauth.1
	@echo "wrote bin/mailoauth.1 (read it with: man -l bin/mailoauth.1)"

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the manual page,
# the bash, zsh and fish completions and the systemd units, each where its
# tool looks under PREFIX (the units' ExecStart names PREFIX/bin/mailoauth).
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
MANDIR  := $(PREFIX)/share/man/man1
BASHDIR := $(PREFIX)/share/bash-completion/completions
ZSHDIR  := $(PREFIX)/share/zsh/$(if $(filter /usr,$(PREFIX)),vendor-completions,site-functions)
FISHDIR := $(PREFIX)/share/fish/vendor_completions.d
UNITDIR := $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
UNITS   := $(wildcard cmd/mailoauth/packaging/mailoauth-*.service)

install: build
	@set -e; d='$(DESTDIR)'; \
	install -d "$$d$(BINDIR)" "$$d$(MANDIR)" "$$d$(BASHDIR)" "$$d$(ZSHDIR)" "$$d$(FISHDIR)" "$$d$(UNITDIR)"; \
	install -m 0755 $(BIN) "$$d$(BINDIR)/mailoauth"; \
	$(BIN) man | gzip -9n > "$$d$(MANDIR)/mailoauth.1.gz"; chmod 0644 "$$d$(MANDIR)/mailoauth.1.gz"; \
	$(BIN) completion bash > "$$d$(BASHDIR)/mailoauth"; \
	$(BIN) completion zsh > "$$d$(ZSHDIR)/_mailoauth"; \
	$(BIN) completion fish > "$$d$(FISHDIR)/mailoauth.fish"; \
	chmod 0644 "$$d$(BASHDIR)/mailoauth" "$$d$(ZSHDIR)/_mailoauth" "$$d$(FISHDIR)/mailoauth.fish"; \
	for u in $(UNITS); do \
		sed 's|/usr/local/bin/mailoauth|$(BINDIR)/mailoauth|g' $$u > "$$d$(UNITDIR)/$$(basename $$u)"; \
		chmod 0644 "$$d$(UNITDIR)/$$(basename $$u)"; done; \
	echo "installed mailoauth into $$d$(PREFIX) (binary, man page, completions) and $(words $(UNITS)) systemd units into $$d$(UNITDIR)"

# make deb: mailoauth_VERSION_amd64.deb with nfpm, a tool installed into bin/
# like freeze (never in go.mod): make install's files under /usr, the
# mailoauth system user, /var/lib/mailoauth (0700) and /etc/mailoauth
# (cmd/mailoauth/packaging/postinst.sh). Every mailoauth-*.service in
# cmd/mailoauth/packaging/ goes in.
NFPM       := $(CURDIR)/bin/nfpm
DEBARCH    := $(shell $(GO) env GOARCH)
DEBVERSION ?= $(shell d=$$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null); r=$$(git rev-parse --short=12 HEAD 2>/dev/null); echo 0.0~git$${d:-0}.$${r:-unknown})
DEB        := bin/mailoauth_$(DEBVERSION)_$(DEBARCH).deb
DEBROOT    := bin/deb-root

$(NFPM):
	cd $$(mktemp -d) && GOFLAGS=-mod=mod GOBIN=$(CURDIR)/bin $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

deb: $(NFPM)
	rm -rf $(DEBROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEBROOT) PREFIX=/usr VERSION='$(DEBVERSION)'
	DEBVERSION='$(DEBVERSION)' DEBARCH=$(DEBARCH) $(NFPM) package --config cmd/mailoauth/packaging/nfpm.yaml --packager deb --target $(DEB)
	@echo "wrote $(DEB)"

# The package on this machine (as root; CI): install it, run it, verify the
# units where systemd-analyze exists, remove it; any failure fails.
deb-check: deb
	@set -e; test "$$(id -u)" = 0 || { echo "deb-check installs a package: run it as root"; exit 1; }; \
	if dpkg-query -W -f='$${Status}' mailoauth 2>/dev/null | grep -q ' installed$$'; then \
		echo "mailoauth is installed already; remove it first (dpkg -r mailoauth)"; exit 1; fi; \
	trap 'dpkg -P mailoauth >/dev/null 2>&1 || true' EXIT; \
	dpkg -i $(DEB); \
	/usr/bin/mailoauth --version; \
	test "$$(stat -c '%a %U' /var/lib/mailoauth)" = "700 mailoauth"; \
	test "$$(stat -c '%a %U %G' /etc/mailoauth)" = "750 root mailoauth"; \
	man -w mailoauth >/dev/null 2>&1 || test -f /usr/share/man/man1/mailoauth.1.gz; \
	test -f /usr/share/bash-completion/completions/mailoauth; \
	ls /lib/systemd/system/mailoauth-*.service; \
	if command -v systemd-analyze >/dev/null; then \
		out=$$(systemd-analyze verify --man=no /lib/systemd/system/mailoauth-*.service 2>&1) || true; \
		if [ -n "$$out" ]; then echo "$$out"; echo "systemd-analyze verify: the units above have problems"; exit 1; fi; \
		echo "systemd-analyze verify: every unit passes"; \
	else echo "systemd-analyze is not installed: units not verified"; fi; \
	dpkg -r mailoauth; trap - EXIT; \
	test ! -e /usr/bin/mailoauth; test ! -e /lib/systemd/system/mailoauth-serve.service; \
	dpkg -P mailoauth >/dev/null; \
	echo "deb-check: $(DEB) installs, runs, verifies and removes cleanly"

# The wizard against the built-in Google sandbox: no account, no network.
# Without a terminal (CI, a pipe) it runs the same procedure on the command line.
demo: build
	@if [ -t 0 ] && [ -t 1 ]; then ./$(BIN) wizard --sandbox; else $(MAKE) --no-print-directory demo-cli; fi

# The procedure step by step with the command-line twins of the wizard.
demo-cli: build
	@set -e; d=$(DEMODIR); mkdir -p $$d; db=$$d/mailoauth.db; \
	./$(BIN) sandbox --dir $$d --users 5 > $$d/sandbox.out 2> $$d/sandbox.err & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; rm -rf $$d' EXIT; \
	for i in $$(seq 1 100); do grep -q ready $$d/sandbox.out 2>/dev/null && break; sleep 0.1; done; \
	grep -q ready $$d/sandbox.out || { cat $$d/sandbox.err; exit 1; }; \
	echo "== 1. inspect the key Google gave you"; ./$(BIN) key inspect $$d/service-account.json; \
	echo; echo "== 2-4. domain, sender, credentials; verify (fails: the client ID is not authorized yet)"; \
	./$(BIN) --db $$db setup --domain example.test --sender admin@example.test --key $$d/service-account.json --endpoints $$d/endpoints.json || true; \
	echo; echo "== 4. authorize the client ID in the (sandbox) Admin console, then verify again"; \
	cid=$$(sed -n 's/.*"client_id": *"\([0-9]*\)".*/\1/p' $$d/service-account.json); \
	admin=$$(sed -n 's/.*"admin_url": *"\([^"]*\)".*/\1/p' $$d/endpoints.json); \
	curl -fsS -X POST -d "{\"client_id\":\"$$cid\",\"scopes\":[\"https://mail.google.com/\"]}" $$admin/delegation >/dev/null; \
	./$(BIN) --db $$db test --checks token; \
	echo; echo "== 5. assign mailboxes"; \
	printf 'email,display_name,owner_kind,owner_name\n' > $$d/mailboxes.csv; \
	for i in 1 2 3 4 5; do echo "user$$i@example.test,User $$i,user,Agent $$i" >> $$d/mailboxes.csv; done; \
	./$(BIN) --db $$db mailbox import $$d/mailboxes.csv; ./$(BIN) --db $$db mailbox ls; \
	echo; echo "== 6. live test of every mailbox: token, IMAP, SMTP, round trip"; \
	./$(BIN) --db $$db test --all

# The wizard over SSH against the built-in Google sandbox, on loopback, with
# a client key generated for the occasion; Ctrl-C stops it and removes it all.
# Ctrl-C stops it cleanly (exit 0): on a terminal the server runs as the
# foreground job (job control), so the interrupt reaches the server alone
# and not make, which would otherwise die of it ("Error 130").
demo-ssh: build
	@set -e; d=$$(mktemp -d /tmp/mailoauth-ssh.XXXXXX); trap 'rm -rf $$d' EXIT; \
	ssh-keygen -q -t ed25519 -N '' -C mailoauth-demo -f $$d/client_key; \
	cp $$d/client_key.pub $$d/authorized_keys; \
	if [ -t 0 ]; then set -m; fi; \
	./$(BIN) --db $$d/mailoauth.db serve --sandbox --addr 127.0.0.1:0 --authorized-keys $$d/authorized_keys \
		--host-key $$d/ssh_host_ed25519_key > $$d/serve.out 2> $$d/serve.err & pid=$$!; \
	trap 'kill $$pid 2>/dev/null || true; wait $$pid 2>/dev/null || true; rm -rf $$d' EXIT; \
	trap 'echo; echo "Stopped the demo server."; exit 0' INT TERM; \
	for i in $$(seq 1 100); do grep -q '^join with' $$d/serve.out 2>/dev/null && break; sleep 0.1; done; \
	grep -q '^join with' $$d/serve.out || { cat $$d/serve.err; exit 1; }; \
	port=$$(sed -n 's/^join with: ssh -p \([0-9]*\) .*/\1/p' $$d/serve.out); \
	sed -n '1,2p' $$d/serve.out; echo; \
	echo "Join from another terminal (the sandbox fills every field in):"; \
	echo "  ssh -i $$d/client_key -p $$port 127.0.0.1"; \
	echo; echo "Ctrl-C here stops the server."; \
	rc=0; if [ -t 0 ]; then fg %1 >/dev/null || rc=$$?; else wait $$pid || rc=$$?; fi; \
	case $$rc in 0|130) echo; echo "Stopped the demo server.";; *) cat $$d/serve.err; exit $$rc;; esac

# mailoauth watch against the sandbox, offline: a webhook receiver on loopback
# (python3), a suspended mailbox's alert and metric, then its recovery.
demo-watch: build
	@set -e; d=$$(mktemp -d /tmp/mailoauth-watch.XXXXXX); db=$$d/mailoauth.db; sb=; hp=; wp=; \
	trap 'kill $$wp $$hp $$sb 2>/dev/null || true; wait 2>/dev/null || true; rm -rf $$d' EXIT INT TERM; \
	until_in() { for i in $$(seq 1 300); do grep -q "$$2" $$1 2>/dev/null && return 0; sleep 0.1; done; echo "gave up waiting for $$2 in $$1"; cat $$d/*.err; exit 1; }; \
	./$(BIN) sandbox --dir $$d --users 2 --delegate > $$d/sandbox.out 2> $$d/sandbox.err & sb=$$!; \
	until_in $$d/sandbox.out ready; \
	admin=$$(sed -n 's/.*"admin_url": *"\([^"]*\)".*/\1/p' $$d/endpoints.json); \
	./$(BIN) --db $$db setup --domain example.test --sender admin@example.test --key $$d/service-account.json --endpoints $$d/endpoints.json > /dev/null; \
	./$(BIN) --db $$db mailbox add user1@example.test > /dev/null; ./$(BIN) --db $$db mailbox add user2@example.test > /dev/null; \
	printf '%s\n' 'import http.server' 'class H(http.server.BaseHTTPRequestHandler):' \
	  '    def do_POST(self):' '        body = self.rfile.read(int(self.headers["Content-Length"])).decode()' \
	  '        print("webhook POST:", body, flush=True); self.send_response(204); self.end_headers()' \
	  '    def log_message(self, *args): pass' \
	  's = http.server.HTTPServer(("127.0.0.1", 0), H); print("port", s.server_port, flush=True); s.serve_forever()' > $$d/hook.py; \
	python3 $$d/hook.py > $$d/hook.out 2> $$d/hook.err & hp=$$!; until_in $$d/hook.out '^port'; \
	port=$$(sed -n 's/^port //p' $$d/hook.out); \
	./$(BIN) --db $$db watch --interval 2s --roundtrip-every 0 --metrics 127.0.0.1:0 --alert-webhook http://127.0.0.1:$$port/ > $$d/watch.out 2> $$d/watch.err & wp=$$!; \
	until_in $$d/watch.out 'metrics on'; m=$$(sed -n 's#^metrics on \(http://[^ ]*\)/metrics.*#\1#p' $$d/watch.out); \
	echo "== watch --interval 2s: metrics at $$m/metrics, alerts to http://127.0.0.1:$$port/"; \
	for i in $$(seq 1 300); do [ "$$(curl -fsS $$m/metrics | grep -c '^mailoauth_check_ok.* 1$$')" -ge 9 ] && break; sleep 0.1; done; \
	curl -fsS $$m/metrics | grep '^mailoauth_check_ok.*check="token"'; \
	echo; echo "== the Admin console suspends user2@example.test"; \
	curl -fsS -X POST -d '{"email":"user2@example.test","suspended":true}' $$admin/users > /dev/null; \
	until_in $$d/hook.out '"state":"failing"'; grep '"state":"failing"' $$d/hook.out; \
	curl -fsS $$m/metrics | grep '^mailoauth_check_ok{check="token",mailbox="user2'; \
	echo; echo "== ... and restores it: one recovered alert, nothing in between"; \
	sleep 4; curl -fsS -X POST -d '{"email":"user2@example.test","suspended":false}' $$admin/users > /dev/null; \
	until_in $$d/hook.out '"state":"recovered"'; grep '"state":"recovered"' $$d/hook.out; \
	for i in $$(seq 1 300); do curl -fsS $$m/metrics | grep -q '^mailoauth_check_ok{check="smtp",mailbox="user2.* 1$$' && break; sleep 0.1; done; \
	curl -fsS $$m/metrics | grep '^mailoauth_check_ok{check="token",mailbox="user2'; \
	echo; echo "== webhook POSTs in all: $$(grep -c '^webhook POST' $$d/hook.out)"; \
	echo; echo "== mailoauth history user2@example.test"; ./$(BIN) --db $$db history user2@example.test

# Everything; the interop tests last and verbosely, so the output shows each
# of them passing (not skipped).
test: vet fmt-check
	$(GO) test -count=1 -race -timeout 20m -skip '^TestInterop' $(PKGS)
	@$(MAKE) --no-print-directory interop

# Only the tests against real server software and mail programs (Debian's
# Dovecot and Postfix, msmtp, curl, mbsync, neomutt; as root), verbosely. `make test` runs
# them too; without the packages they skip with the apt-get line to run
# (with CI=true they fail). .ci/run installs the packages.
interop:
	$(GO) test -count=1 -race -timeout 30m -v -run '^TestInterop' ./cmd/mailoauth

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l cmd core store tui); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Every fuzz target (func FuzzXxx in a _test.go file) for FUZZTIME each, one
# after another; a crash is saved under the package's testdata/fuzz and
# fails the run. Not part of `make test`, which runs only their seeds.
FUZZTIME ?= 60s
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' cmd core store tui | xargs -n1 dirname | sort -u); do \
		for t in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$t (./$$dir, $(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./$$dir; \
		done; \
	done

# `test --all` against the sandbox with N mailboxes (default 2000): on
# loopback and across a simulated Internet (RTT, default 50ms), with and
# without Google's throttling (THROTTLE of the token, IMAP and SMTP requests,
# default 0.1); prints mailboxes/s, client CPU ms per mailbox and peak RSS
# (the test process's rusage), the sandbox's CPU ms per mailbox, tokens
# minted, throttled retries and false failures. The --rtt 0 runs are made with issue 12's checks (token,imap,smtp)
# and with the default ones (adding the round trip); CHECKS=token runs every
# run with the token check only. ONLY=rtt0-fresh,rtt50 runs some of the runs.
# PROFILE=DIR writes a CPU profile of each test run there (a bench aid: go
# tool pprof bin/mailoauth DIR/rtt0-fresh-default.pprof). RUNS=3 makes the
# runs three times in turn (each row says the load it ran at: on a shared
# machine compare medians). Not part of `make test`.
N        ?= 2000
RTT      ?= 50ms
THROTTLE ?= 0.1
bench-bulk: build
	$(GO) run ./cmd/benchbulk -bin $(BIN) -n $(N) -rtt $(RTT) -throttle $(THROTTLE) $(if $(CHECKS),-checks $(CHECKS)) $(if $(ONLY),-only $(ONLY)) $(if $(PROFILE),-cpuprofile $(PROFILE)) $(if $(RUNS),-count $(RUNS))

# mailoauth proxy: 100 parallel IMAP sessions x 100 FETCHes, straight and
# through the proxy (every body checked); reports the proxy's added median
# per command and CPU per FETCH. First issue 14's measurement, Python
# imaplib clients in PYPROCS processes (threads in each) against the
# mailoauth sandbox and proxy processes (BenchmarkProxyImaplib in
# cmd/mailoauth/proxy_bench_test.go), then the Go clients, proxy and
# sandbox in one process (core/proxy/bench_test.go, with one session's
# NOOP latency), then the relay alone (BenchmarkRelayRoundTrip: its CPU
# per relayed command and reply). COUNT runs of each, the machine's load
# printed before and after. Not part of `make test`.
COUNT   ?= 3
PYPROCS ?= 4
bench-proxy:
	uptime
	$(GO) test -run '^$$' -bench '^BenchmarkProxyImaplib$$' -benchtime 1x -count $(COUNT) ./cmd/mailoauth -args -imaplib-procs $(PYPROCS)
	$(GO) test -run '^$$' -bench '^BenchmarkProxy' -benchtime 1x -count $(COUNT) ./core/proxy
	$(GO) test -run '^$$' -bench '^BenchmarkRelayRoundTrip$$' -benchtime 20000x -count $(COUNT) ./core/proxy
	uptime

# One PNG per wizard step of the sandbox walk-through, for the README.
# Every frame shows the same values at every run (TestScreenshots fixes the
# sandbox's identity, its ports 10080, 10993 and 10465 on 127.0.0.1, which
# must be free, the paths and the consent's clock; TZ=UTC), so a
# regeneration changes only the pictures of screens that changed.
# freeze is a tool (it pins Charm v1): built into bin/, never in go.mod.
# Not part of `make test`. It is built in a module of its own because
# freeze v0.2.2 requires wazero v1.8.0, which crashes under Go 1.24 and later
# on amd64 (fixed in wazero v1.9.0), and `go install pkg@version` cannot
# raise a dependency.
FREEZE := $(CURDIR)/bin/freeze

$(FREEZE):
	cd $$(mktemp -d) && $(GO) mod init freezebuild >/dev/null 2>&1 && \
	$(GO) get github.com/charmbracelet/freeze@v0.2.2 github.com/tetratelabs/wazero@v1.9.0 && \
	$(GO) build -o $(FREEZE) github.com/charmbracelet/freeze

# The commit-msg hook of .ci/commit-msg: subjects under 72 characters.
hooks:
	git config core.hooksPath .ci

screenshots: $(FREEZE)
	@set -e; d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; \
	TZ=UTC $(GO) test ./tui/ -run '^TestScreenshots$$' -count=1 -screenshots=$$d; \
	mkdir -p screenshots; rm -f screenshots/*.png; \
	for f in $$d/*.ansi; do n=$$(basename $$f .ansi); \
		$(FREEZE) $$f -l ansi -c full -W 1000 -H 700 -o screenshots/$$n.png >/dev/null; chmod 644 screenshots/$$n.png; echo "wrote screenshots/$$n.png"; done

clean:
	rm -rf bin

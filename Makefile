# nano - one static musl binary, six CoAP nanoservices.
#
#   make            deps (first time) + ./nano, static and stripped
#   make test       every test through prove (unit + scenario scripts)
#   make check      the same tests, built with gcc + ASan/UBSan against
#                   Debian's -dev libraries (glibc) and the pinned libcoap
#                   built with the same sanitizers, in build/check
#   make fuzz       libFuzzer (clang-16, ASan/UBSan) on every role and
#                   parser, FUZZ_S seconds each, in build/fuzz; fuzz-smoke
#                   is CI's short run (test/fuzz/README)
#   make demo       the smart-meeting scenario with simulated hardware
#   make screenshots  mrs's kiosk page in headless Chromium (test/t0481):
#                   every state at 1920x1080 and 800x480 in BUILD/screenshots,
#                   and docs/kiosk.png (800x480, a meeting shown)
#   make bench      benchmarks that print numbers
#   make size       the binary's size
#   ARCH=armv7|arm64  any of the above for a Raspberry Pi, cross compiled
#                   into build/ARCH/nano and tested under qemu-user (README)
#   make deps       the third-party libraries from Debian 12 sources (mk/deps.sh)
#   make install PREFIX=/usr/local    nano + one symlink per applet
#   make clean      our objects (keeps the built deps); distclean: all of build/

# O=DIR builds into DIR (with DIR/nano), so several trees or people can
# build side by side; the musl deps are always shared in build/$(ARCH).
.DEFAULT_GOAL := all
VERSION := 0.1.0
ARCH    ?= x86_64
MODE    ?= static
PREFIX  ?= /usr/local

# Target architectures: x86_64 is native; the Raspberry Pi ones are cross
# compiled with Debian's cross gcc against a musl that mk/deps.sh builds from
# Debian's source (its musl-gcc wrapper adds TARGET_CFLAGS), and run by
# qemu-user through binfmt_misc for the tests.
ifeq ($(ARCH),x86_64)
CROSS   :=
PLATFORM:= linux/amd64
else ifeq ($(ARCH),armv7)
# Pi 2 (Cortex-A7) and later in 32-bit mode: Debian armhf's baseline,
# hard-float, Thumb-2, VFPv3-D16 (no NEON needed).
CROSS   := arm-linux-gnueabihf
TARGET_CFLAGS := -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb
QEMU    := qemu-arm
QEMU_CPU:= cortex-a7
PLATFORM:= linux/arm/v7
else ifeq ($(ARCH),arm64)
# Pi 3 (Cortex-A53) and later with a 64-bit OS.
CROSS   := aarch64-linux-gnu
TARGET_CFLAGS := -march=armv8-a
QEMU    := qemu-aarch64
QEMU_CPU:= cortex-a53
PLATFORM:= linux/arm64
else
$(error ARCH=$(ARCH) is not a target: use x86_64, armv7 or arm64)
endif

SRCS    := $(wildcard src/*.c) $(wildcard applets/*.c) $(wildcard applets/*/*.c)
LIBSRCS := $(filter-out src/main.c,$(SRCS))
UNITS   := $(wildcard test/unit/*.c)
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Wformat=2
DEFS    := -std=c11 -D_GNU_SOURCE -DNANO_VERSION='"$(VERSION)"'

ifeq ($(MODE),check)
ifneq ($(CROSS),)
$(error MODE=check builds with the host gcc and glibc: it has no ARCH=$(ARCH))
endif
# gcc + sanitizers against the system's (glibc) libraries, but libcoap and
# mbedTLS: Debian 12's libcoap is 4.3.1, so the pinned 4.3.5 is built by
# mk/deps.sh with gcc and the same sanitizers into build/check-deps (its
# code is checked too), and against the same pinned mbedTLS with nano's
# trimmed configuration (mk/mbedtls-config.h), built there the same way:
# the checked DTLS is the shipped one, not Debian's full-config
# libmbedtls-dev.
BUILD   := $(or $(O),build/check)
CC      := gcc
SANITIZE:= -fsanitize=address,undefined -fno-sanitize-recover=undefined
PKGS    := libcjson sqlite3 libgpiod dbus-1 libmicrohttpd md4c
CHECK_DEPS := build/check-deps
CFLAGS  := -g -O1 -fno-omit-frame-pointer $(SANITIZE) $(WARN)
CPPFLAGS:= $(DEFS) -I$(CHECK_DEPS)/prefix/include $(shell pkg-config --cflags $(PKGS))
LDFLAGS := $(SANITIZE) -L$(CHECK_DEPS)/prefix/lib
LDLIBS  := -lcoap-3-mbedtls -lmbedtls -lmbedx509 -lmbedcrypto $(shell pkg-config --libs $(PKGS))
NANO    := $(BUILD)/nano
DEPS_OK := $(CHECK_DEPS)/prefix/.deps-ok
$(DEPS_OK): mk/deps.sh mk/deps.lock mk/mbedtls-config.h
	CC=gcc ONLY='mbedtls libcoap3' EXTRA_CFLAGS='-g -fno-omit-frame-pointer $(SANITIZE)' \
	  sh mk/deps.sh $(CHECK_DEPS)
else ifeq ($(MODE),fuzz)
ifneq ($(CROSS),)
$(error MODE=fuzz builds with the host clang and glibc: it has no ARCH=$(ARCH))
endif
# clang-16 + libFuzzer's coverage + ASan/UBSan against the system's
# (glibc) libraries, and the pinned libcoap built by mk/deps.sh with the
# same flags into build/fuzz-deps, so libFuzzer sees (and steers through)
# its code too.  -DNANO_FUZZ compiles the hook in src/loop.c that hands a
# role's loop to libFuzzer (test/fuzz/roles.c); $(BUILD)/nano has it
# but never uses it, $(BUILD)/nano-fuzz is the one linked with libFuzzer.
BUILD   := $(or $(O),build/fuzz)
CC      := clang-16
# Our UBSan checks may recover, so that test/fuzz/ubsan.supp can let
# fuzzing go past a finding that is reported and not yet fixed; run.sh
# makes every other one fatal (UBSAN_OPTIONS=halt_on_error=1).
# libcoap's are fatal as they are built.
SANITIZE:= -fsanitize=address,undefined -fsanitize=fuzzer-no-link
DEPS_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
           -fsanitize=fuzzer-no-link
PKGS    := libcjson sqlite3 libgpiod dbus-1 libmicrohttpd md4c
FUZZ_DEPS := build/fuzz-deps
CFLAGS  := -g -O1 -fno-omit-frame-pointer $(SANITIZE) $(WARN)
CPPFLAGS:= $(DEFS) -DNANO_FUZZ -I$(FUZZ_DEPS)/prefix/include $(shell pkg-config --cflags $(PKGS))
LDFLAGS := $(SANITIZE) -L$(FUZZ_DEPS)/prefix/lib
# the shipped mbedTLS config, instrumented too (libcoap's DTLS, irk.c's AES)
LDLIBS  := -lcoap-3-mbedtls -lmbedtls -lmbedx509 -lmbedcrypto $(shell pkg-config --libs $(PKGS))
NANO    := $(BUILD)/nano
DEPS_OK := $(FUZZ_DEPS)/prefix/.deps-ok
$(DEPS_OK): mk/deps.sh mk/deps.lock mk/mbedtls-config.h
	CC=$(CC) ONLY='mbedtls libcoap3' EXTRA_CFLAGS='-g -fno-omit-frame-pointer $(DEPS_SANITIZE)' \
	  sh mk/deps.sh $(FUZZ_DEPS)
else
# static musl against the libraries mk/deps.sh built from Debian sources
DEPS_DIR:= build/$(ARCH)
BUILD   := $(or $(O),$(DEPS_DIR))
PREFIX_DEPS := $(DEPS_DIR)/prefix
CC      := $(if $(CROSS),$(DEPS_DIR)/musl/bin/musl-gcc,musl-gcc)
AR      := $(if $(CROSS),$(CROSS)-ar,ar)
STRIP   := $(if $(CROSS),$(CROSS)-strip,strip)
CFLAGS  := -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
           -fno-unwind-tables $(WARN)
CPPFLAGS:= $(DEFS) -I$(PREFIX_DEPS)/include -I$(PREFIX_DEPS)/include/dbus-1.0 \
           -I$(PREFIX_DEPS)/lib/dbus-1.0/include -isystem $(DEPS_DIR)/kinc
LDFLAGS := -static -Wl,--gc-sections -L$(PREFIX_DEPS)/lib
LDLIBS  := -lcoap-3-mbedtls -lmbedtls -lmbedx509 -lmbedcrypto \
           -lsqlite3 -lcjson -lgpiod -ldbus-1 -lmicrohttpd -lmd4c
NANO    := $(if $(O),$(O)/nano,$(if $(CROSS),$(DEPS_DIR)/nano,nano))
DEPS_OK := $(PREFIX_DEPS)/.deps-ok
# The three binaries side by side in build/ARCH/nano: x86_64's is a copy
# of ./nano.
SIDE    := $(if $(O)$(CROSS),,$(DEPS_DIR)/nano)
endif

OBJDIR  := $(BUILD)/obj
OBJS    := $(patsubst %.c,$(OBJDIR)/%.o,$(SRCS))
LIBOBJS := $(patsubst %.c,$(OBJDIR)/%.o,$(LIBSRCS))
UNITBIN := $(patsubst test/unit/%.c,$(BUILD)/unit/%.t,$(UNITS))
BENCHSRC:= $(wildcard bench/*.c)
BENCHBIN:= $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCHSRC))
TESTSRV := $(BUILD)/testsrv

.PHONY: all deps test check demo bench size clean distclean install image screenshots
all: $(NANO) $(SIDE)

deps: $(DEPS_OK)
ifeq ($(filter check fuzz,$(MODE)),)
$(DEPS_DIR)/prefix/.deps-ok: mk/deps.sh mk/deps.lock mk/mbedtls-config.h
	$(if $(CROSS),HOST=$(CROSS) TARGET_CFLAGS='$(TARGET_CFLAGS)' CC=) sh mk/deps.sh $(DEPS_DIR)
endif

$(OBJDIR)/%.o: %.c $(wildcard src/*.h applets/*/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) -c -o $@ $<

$(BUILD)/libnano.a: $(LIBOBJS)
	rm -f $@ && $(AR) rcs $@ $^

# Every program is linked again when the deps were rebuilt ($(DEPS_OK) is
# written last): another mbedTLS config or libcoap flavour must not leave
# a binary linked against the old one.
$(NANO): $(OBJDIR)/src/main.o $(BUILD)/libnano.a $(DEPS_OK)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out $(DEPS_OK),$^) $(LDLIBS)
ifeq ($(filter check fuzz,$(MODE)),)
	$(STRIP) --strip-all -R .comment $@
endif

ifneq ($(SIDE),)
$(SIDE): $(NANO)
	cp -f $< $@
endif

$(BUILD)/unit/%.t: test/unit/%.c test/unit/tap.h $(BUILD)/libnano.a $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc -Iapplets -Itest/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libnano.a $(LDLIBS)

$(TESTSRV): test/testsrv.c $(BUILD)/libnano.a $(DEPS_OK)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libnano.a $(LDLIBS)

# prove -e '' runs each test as a program: the unit tests are binaries,
# the scenario scripts have a #! line.  TESTS picks the scenario scripts
# (make test TESTS='test/t0001-*.sh'); the unit tests always run.
# For ARCH=armv7|arm64 every binary (nano, unit tests, testsrv) is the
# target's, run by the kernel through binfmt_misc + qemu-user-static, so
# symlink dispatch and /proc/self/exe behave as on a Pi; QEMU_CPU makes
# qemu emulate the Pi's own core, so an instruction it lacks is SIGILL.
TESTS   ?= test/t[0-9]*.sh
CAN_RUN  = $(if $(CROSS),QEMU_CPU=$(QEMU_CPU) $(abspath $(NANO)) --version >/dev/null 2>&1 || \
	   { echo "make test ARCH=$(ARCH): this kernel cannot run $(ARCH) programs;" \
	     "apt-get install qemu-user-static binfmt-support and run" \
	     "update-binfmts --enable $(QEMU)" >&2; exit 1; },:)
SHOTS   := $(abspath $(BUILD))/screenshots
test: $(NANO) $(UNITBIN) $(TESTSRV) $(BENCHBIN)
	@$(CAN_RUN)
	$(if $(CROSS),QEMU_CPU=$(QEMU_CPU)) DOCKER_PLATFORM=$(PLATFORM) \
	  NANO=$(abspath $(NANO)) TESTSRV=$(abspath $(TESTSRV)) SHOTS_DIR=$(SHOTS) \
	  COAPLOAD=$(abspath $(BUILD)/bench/coapload) \
	  prove -e '' $(PROVE_FLAGS) $(UNITBIN) $(TESTS)

# The kiosk page as a person sees it: t0481 drives mrs through every state
# in headless Chromium and shoots each; the README shows docs/kiosk.png.
screenshots: $(NANO)
	@command -v $${CHROMIUM:-chromium} >/dev/null || \
	  { echo "make screenshots needs chromium (sh .ci/install-packages)" >&2; exit 1; }
	@$(CAN_RUN)
	rm -f $(SHOTS)/kiosk-*
	NANO=$(abspath $(NANO)) SHOTS_DIR=$(SHOTS) sh test/t0481-kiosk-chromium.sh
	@mkdir -p docs
	cp $(SHOTS)/kiosk-presenting-800x480.png docs/kiosk.png
	@ls $(SHOTS)/kiosk-*.png docs/kiosk.png | sed 's/^/  /'

check:
	$(MAKE) MODE=check test

# The paper's scenario on this machine: every role a child process on
# loopback (nano demo --help for DEMO_FLAGS).
demo: $(NANO)
	$(abspath $(NANO)) demo $(DEMO_FLAGS)

# Benchmarks print numbers; they never fail on a number (no timed tests).
# bench/*.c are tools built from the core (load generators); bench/b*.sh
# run them and print tables.
$(BUILD)/bench/%: bench/%.c $(BUILD)/libnano.a $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libnano.a $(LDLIBS)

bench: $(NANO) $(BENCHBIN)
	@for b in bench/b*.sh; do [ -f "$$b" ] || continue; \
	  NANO=$(abspath $(NANO)) BENCHBIN=$(abspath $(BUILD)/bench) sh "$$b" || exit 1; done

size: $(NANO)
	@stat -c '%s bytes  %n' $(NANO)
	@file -b $(NANO) | cut -c1-100

install: $(NANO)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(NANO) $(DESTDIR)$(PREFIX)/bin/nano
	$(DESTDIR)$(PREFIX)/bin/nano --install $(DESTDIR)$(PREFIX)/bin

# The FROM-scratch image: its build context is a dir with only the
# binary and an empty data/ (for ae's volume), not the whole tree.
# Every ARCH also gets nano:VERSION-ARCH with its platform set (a Pi's
# image is built here; its RUN step runs the binary through binfmt).
IMAGE_CTX := $(BUILD)/image
IMAGE_TAG := nano:$(VERSION)$(if $(CROSS),-$(ARCH))
image: $(NANO)
	@$(CAN_RUN)
	rm -rf $(IMAGE_CTX) && mkdir -p $(IMAGE_CTX)/data
	cp $(NANO) $(IMAGE_CTX)/nano
	docker build -q -f Dockerfile.scratch --build-arg VERSION=$(VERSION) \
	  --platform $(PLATFORM) -t $(IMAGE_TAG) -t nano:$(VERSION)-$(ARCH) \
	  $(if $(CROSS),,-t nano:latest) $(IMAGE_CTX)
	@docker image inspect $(IMAGE_TAG) \
	  --format '$(IMAGE_TAG) {{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}} {{.Size}} bytes'

# ---- fuzzing (test/fuzz/README) ----------------------------------------
#   make fuzz                   every target FUZZ_S seconds, one at a time
#   make fuzz-smoke             every target FUZZ_SMOKE_S seconds (CI)
#   make fuzz FUZZ_TARGETS='ae json' FUZZ_S=600
# A role target is the role's whole request path: nano-fuzz ROLE with sim
# hardware and its peers down, datagrams from one UDP peer.  A parser
# target is test/fuzz/TARGET.c on the same objects.  Seeds are in
# test/fuzz/corpus/TARGET (test/fuzz/gen-corpus.py writes them); what
# libFuzzer finds goes to $(BUILD)/corpus/TARGET, crashes to
# $(BUILD)/crashes.  test/fuzz/run.sh runs or replays one target.
FUZZ_S       ?= 60
FUZZ_SMOKE_S ?= 8
FUZZ_ROLES   := ae mcs pd bs ug mrs
FUZZ_PARSERS := json rfc3339 bluez adv sightings render stack
FUZZ_TARGETS ?= $(FUZZ_ROLES) $(FUZZ_PARSERS)
.PHONY: fuzz fuzz-smoke fuzz-build
ifeq ($(MODE),fuzz)
FUZZ_RT := $(shell $(CC) -print-runtime-dir 2>/dev/null)
fuzz-build: $(BUILD)/nano-fuzz $(FUZZ_PARSERS:%=$(BUILD)/fuzz-%)

# nano with the driver and libFuzzer without its main (the role's main
# is the program's); libFuzzer is C++.
$(BUILD)/nano-fuzz: $(OBJDIR)/src/main.o $(OBJDIR)/test/fuzz/roles.o $(BUILD)/libnano.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	  $(FUZZ_RT)/libclang_rt.fuzzer_no_main-x86_64.a -lstdc++

$(BUILD)/fuzz-%: test/fuzz/%.c test/fuzz/check.h $(BUILD)/libnano.a
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< \
	  $(BUILD)/libnano.a $(LDLIBS)

# The inputs kept in test/fuzz/crashes/TARGET-* are replayed first.
fuzz fuzz-smoke: fuzz-build
	@failed=; for t in $(FUZZ_TARGETS); do \
	  set -- test/fuzz/crashes/$$t-*; \
	  if [ -f "$$1" ]; then FUZZ_BUILD=$(BUILD) sh test/fuzz/run.sh $$t "$$@" || \
	    failed="$$failed $$t(replay)"; fi; \
	  FUZZ_BUILD=$(BUILD) sh test/fuzz/run.sh $$t \
	    $(if $(filter fuzz-smoke,$@),$(FUZZ_SMOKE_S),$(FUZZ_S)) || failed="$$failed $$t"; \
	done; \
	test -z "$$failed" || { echo "fuzz: failed:$$failed (see $(BUILD)/crashes)" >&2; exit 1; }
else
fuzz fuzz-smoke fuzz-build:
	$(MAKE) MODE=fuzz $@
endif

clean:
	rm -rf build/*/obj build/*/unit build/*/libnano.a build/*/testsrv build/*/nano \
	       build/fuzz/nano-fuzz build/fuzz/fuzz-* build/check nano

distclean:
	rm -rf build nano

#!/bin/sh
# mk/deps.sh - fetch and build nano's third-party libraries as static musl libs.
#
#   sh mk/deps.sh BUILD_DIR            e.g. sh mk/deps.sh build/x86_64
#   sh mk/deps.sh --latest BUILD_DIR   print the newest bookworm versions in
#                                      mk/deps.lock format (to update the lock)
#
# Environment: CC (default musl-gcc), HOST (configure --host triplet, default
# empty = native), JOBS (default: nproc), AR (default: ${HOST-}ar),
# TARGET_CFLAGS (code generation flags for a cross target, e.g. -march=...),
# ONLY (build just these packages: mbedtls and/or libcoap3), EXTRA_CFLAGS
# (added to every compile and link: sanitizers for make check and make fuzz).
#
# mbedTLS is built with nano's own configuration, mk/mbedtls-config.h (DTLS
# 1.2 with pre-shared keys and AES-CCM/GCM, little else) and entropy source,
# mk/mbedtls-getrandom.c; their hash is part of the stamp and of mbedtls's
# and libcoap's built markers, so editing either rebuilds both.
#
# Cross builds (the Raspberry Pi targets): HOST set and CC empty, e.g.
#   HOST=arm-linux-gnueabihf TARGET_CFLAGS='-march=armv7-a ...' CC= \
#       sh mk/deps.sh build/armv7
# first builds musl itself from Debian's musl source (version in mk/deps.lock)
# with Debian's cross compiler HOST-gcc into BUILD_DIR/musl, and writes
# BUILD_DIR/musl/bin/musl-gcc, a wrapper that runs HOST-gcc with
# TARGET_CFLAGS against that musl; everything else is compiled with it.
# Kernel headers come from the cross toolchain's /usr/HOST/include.
#
# Needs (Debian packages): musl-tools dpkg-dev autoconf automake libtool
# pkg-config autoconf-archive tclsh gcc make linux-libc-dev; runs as root
# (apt-get update into the private lists dir).  Cross builds also need
# gcc-HOST (gcc-arm-linux-gnueabihf, gcc-aarch64-linux-gnu) and
# linux-libc-dev-ARCH-cross; qemu-user-static to run the link check.
#
# Sources are Debian 12 (bookworm) *source* packages at the exact versions in
# mk/deps.lock (but a line "NAME VERSION SUITE SHA256": that orig tarball
# from a newer suite, see fetch_orig), fetched with a private APT configuration under BUILD_DIR/apt/
# (the system's /etc/apt is only read, never changed).  Everything is installed
# into BUILD_DIR/prefix; BUILD_DIR/prefix/.deps-ok (the lines of the lock file
# this build uses: all but musl's for a native build, which uses the host's
# musl-gcc) is written last, and when it matches this script does nothing.
#
# Layout under BUILD_DIR:
#   apt/    private APT config, index lists, downloaded source packages
#   src/    extracted source trees (NAME-VERSION, Debian patches applied)
#   bld/    out-of-tree build directories (wiped when a package is rebuilt;
#           not obj/, which belongs to the top-level Makefile)
#   kinc/   symlinks to the host's kernel UAPI headers (musl ships none)
#   musl/   cross builds only: the target's musl and its musl-gcc wrapper
#   log/    configure/make output, one file per step
#   stamp/  per-package "extracted"/"built" markers, named after the version
#   prefix/ the result: include/, lib/, share/doc/bluez/
#
# To force a rebuild of everything: rm -rf BUILD_DIR.

set -eu

T0=$(date +%s)

log() { echo "deps: $*"; }
die() { echo "deps: ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments

MODE=build
if [ "${1:-}" = "--latest" ]; then MODE=latest; shift; fi
[ $# -eq 1 ] || die "usage: sh mk/deps.sh [--latest] BUILD_DIR"

TOP=$(cd "$(dirname "$0")/.." && pwd)
LOCK=$TOP/mk/deps.lock
[ -r "$LOCK" ] || die "missing $LOCK"
BUILD_ARG=$1
mkdir -p "$1"
B=$(cd "$1" && pwd)
PREFIX=$B/prefix
STAMP=$PREFIX/.deps-ok

# A cross build (HOST set, no CC given) builds its own musl; a native one
# uses the host's musl-gcc, so musl's lock line is not part of its stamp
# (a native prefix stays valid when only the cross musl is bumped).
CROSS_MUSL=no
# ONLY="libcoap3" builds just those packages (the glibc and fuzzing builds
# of libcoap, whose other libraries come from Debian's -dev packages), and
# EXTRA_CFLAGS (sanitizers, coverage) goes into every compile and link.
# Both, with CC, are part of the stamp, so a change rebuilds.
CC_ID="${CC:-musl-gcc} ${EXTRA_CFLAGS:-}"
if [ -n "${HOST:-}" ] && [ -z "${CC:-}" ]; then CROSS_MUSL=yes; fi
# mbedTLS's configuration: the library and libcoap (which includes its
# headers, so its structs are laid out by it) are rebuilt when it changes.
# mk/mbedtls-getrandom.c, its entropy source, goes into libmbedcrypto.a.
MBEDTLS_CONFIG=$TOP/mk/mbedtls-config.h
MBEDTLS_ENTROPY=$TOP/mk/mbedtls-getrandom.c
[ -r "$MBEDTLS_CONFIG" ] && [ -r "$MBEDTLS_ENTROPY" ] ||
    die "missing $MBEDTLS_CONFIG or $MBEDTLS_ENTROPY"
MBEDTLS_CONFIG_ID=$(cat "$MBEDTLS_CONFIG" "$MBEDTLS_ENTROPY" | sha256sum | cut -c1-16)

# lock_for_build -> the lock lines this build uses (the stamp's content)
lock_for_build() {
    if [ -n "${ONLY:-}" ]; then
        for _n in $ONLY; do awk -v n="$_n" '$1 == n' "$LOCK"; done
        echo "cc $CC_ID"
    elif [ "$CROSS_MUSL" = yes ]; then cat "$LOCK"; else grep -v '^musl ' "$LOCK"; fi
    echo "mbedtls-config $MBEDTLS_CONFIG_ID"
}

# Fast path: nothing to do when the prefix was completed for this very lock.
# Touch the stamp so a make rule depending on mk/deps.sh (edited since) sees
# it as fresh instead of re-running this script every time.
if [ "$MODE" = build ] && [ -f "$STAMP" ] && lock_for_build | cmp -s "$STAMP" -; then
    touch "$STAMP"
    exit 0
fi

# Serialise concurrent runs on the same BUILD_DIR (e.g. parallel make).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$B/.deps.flock"
    flock 9
    if [ "$MODE" = build ] && [ -f "$STAMP" ] && lock_for_build | cmp -s "$STAMP" -; then
        touch "$STAMP"; exit 0
    fi
fi

HOST=${HOST:-}
TARGET_CFLAGS=${TARGET_CFLAGS:-}
MUSL=$B/musl
if [ "$CROSS_MUSL" = yes ]; then CC=$MUSL/bin/musl-gcc; else CC=${CC:-musl-gcc}; fi
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
AR=${AR:-${HOST:+$HOST-}ar}
BUILD_CC=gcc            # host compiler, only for sqlite's amalgamation tools

# Our flags are set explicitly; whatever CFLAGS/LDFLAGS/MAKEFLAGS the calling
# make exported (nano's own -Werror, command-line overrides) must not leak into
# third-party configure/make runs.
unset CFLAGS CPPFLAGS LDFLAGS LIBS MAKEFLAGS MFLAGS MAKEOVERRIDES GNUMAKEFLAGS \
      MAKELEVEL PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR 2>/dev/null || true
DEPS_CFLAGS="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables${EXTRA_CFLAGS:+ $EXTRA_CFLAGS}"
DEPS_CPPFLAGS="-isystem $B/kinc"
# pkg-config must only ever see our prefix, never the host's glibc .pc files.
export PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig"
# C locale: stable tool output for the parsing done here.
export LC_ALL=C

mkdir -p "$B/log" "$B/stamp" "$B/src" "$B/bld" "$PREFIX/include" "$PREFIX/lib"

# ---------------------------------------------------------------- helpers

# lock_version NAME -> exact Debian version from mk/deps.lock
lock_version() {
    v=$(awk -v n="$1" '$1 == n { print $2 }' "$LOCK")
    [ -n "$v" ] || die "package '$1' is not listed in $LOCK"
    echo "$v"
}

# run LOGNAME DIR CMD... : run CMD in DIR, output appended to log/LOGNAME.log;
# on failure show the tail of that log and stop.
run() {
    _log=$B/log/$1.log; _dir=$2; shift 2
    echo "### $(date '+%F %T') [$_dir] $*" >>"$_log"
    if ! (cd "$_dir" && "$@") >>"$_log" 2>&1; then
        echo "----- last lines of $_log -----" >&2
        tail -n 40 "$_log" >&2
        echo "-----" >&2
        die "'$*' failed in $_dir (full log: $_log)"
    fi
}

# configure_autotools LOGNAME SRCDIR OBJDIR [configure args...]
# Fresh out-of-tree configure with our compiler and flags.  A cross build
# names --build as well, so configure always knows it is cross compiling,
# also where binfmt + qemu could run the target's test programs: the result
# must not depend on how the building machine is set up.
configure_autotools() {
    _name=$1 _src=$2 _obj=$3; shift 3
    rm -rf "$_obj"; mkdir -p "$_obj"
    run "$_name" "$_obj" "$_src/configure" \
        ${HOST:+--host="$HOST" --build="$($BUILD_CC -dumpmachine)"} --prefix="$PREFIX" \
        --disable-shared --enable-static --disable-dependency-tracking \
        CC="$CC" CFLAGS="$DEPS_CFLAGS" CPPFLAGS="$DEPS_CPPFLAGS" LDFLAGS="${EXTRA_CFLAGS:-}" "$@"
}

# regen_if_patched LOGNAME SRCDIR: Debian patches applied by dpkg-source get a
# fresh mtime; if one touched configure.ac/Makefile.am the generated files look
# stale and make would try to re-run automake mid-build (with whatever version
# the host has, often failing on "missing" tools).  Debian itself builds with
# dh_autoreconf, so do the same, once, so that the patches take effect.
regen_if_patched() {
    if [ -n "$(find "$2" -path "$2/debian" -prune -o \
               \( -name configure.ac -o -name Makefile.am -o -name '*.m4' \) \
               -newer "$2/configure" -print | head -n 1)" ]; then
        log "$1: Debian patches touch autotools inputs, running autoreconf -fi"
        run "$1" "$2" autoreconf -fi
    fi
}

# ---------------------------------------------------------------- APT

APTDIR=$B/apt
APTCONF=$APTDIR/apt.conf
APT_READY=no
APT_UPDATED=no

# Private APT setup: a deb-src copy of the machine's debian.sources and
# private lists/cache dirs.  The system apt.conf.d is still read (proxies,
# Check-Valid-Until, ... are machine policy), but apt/override.conf, given with
# -c so it is read after apt.conf.d, drops the system's update hooks, which
# have no business running for our private index.
apt_setup() {
    [ "$APT_READY" = yes ] && return 0
    src=/etc/apt/sources.list.d/debian.sources
    [ -r "$src" ] || die "$src not found; need a deb822 Debian sources file to derive deb-src entries from"
    mkdir -p "$APTDIR/sources.list.d" "$APTDIR/lists/partial" \
             "$APTDIR/cache/archives/partial" "$APTDIR/state" \
             "$APTDIR/preferences.d" "$APTDIR/dl"
    : >"$APTDIR/sources.list"
    # Same URIs/Suites/Components/Signed-By, just source indices.
    sed 's/^Types:.*$/Types: deb-src/' "$src" >"$APTDIR/sources.list.d/debian-src.sources.new"
    grep -q '^Types: deb-src' "$APTDIR/sources.list.d/debian-src.sources.new" ||
        die "no 'Types:' line in $src"
    mv "$APTDIR/sources.list.d/debian-src.sources.new" "$APTDIR/sources.list.d/debian-src.sources"
    cat >"$APTCONF" <<EOF
// generated by mk/deps.sh - private APT config for fetching source packages
Dir::Etc::SourceList "$APTDIR/sources.list";
Dir::Etc::SourceParts "$APTDIR/sources.list.d";
Dir::Etc::Preferences "$APTDIR/preferences";
Dir::Etc::PreferencesParts "$APTDIR/preferences.d";
Dir::State "$APTDIR/state";
Dir::State::Lists "$APTDIR/lists";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$APTDIR/cache";
// our private dirs are root-owned; don't drop privileges to _apt for them
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF
    cat >"$APTDIR/override.conf" <<EOF
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
EOF
    export APT_CONFIG="$APTCONF"
    APT_READY=yes
}

# aptc apt-get|apt-cache ARGS...: run an APT tool with our override file
aptc() { "$@" -c "$APTDIR/override.conf"; }

apt_update() {
    apt_setup
    log "apt-get update (private deb-src index in $APTDIR)"
    run apt-update "$APTDIR" aptc apt-get -q update
    touch "$APTDIR/updated"
    APT_UPDATED=yes
}

# available_versions NAME -> all versions of source package NAME the archive serves
available_versions() {
    aptc apt-cache showsrc --only-source "$1" 2>/dev/null |
        awk '/^Version:/ { print $2 }' | sort -u
}

# newest_version NAME -> highest available version (dpkg ordering)
newest_version() {
    best=
    for v in $(available_versions "$1"); do
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
    done
    echo "$best"
}

# fetch_source NAME: download NAME=VERSION (from the lock) and extract it with
# dpkg-source into src/NAME-VERSION; verifies the extracted version.
fetch_source() {
    name=$1; ver=$(lock_version "$name")
    dir=$B/src/$name-$ver
    [ -f "$B/stamp/$name-$ver.extracted" ] && [ -d "$dir" ] && return 0
    apt_setup
    [ -f "$APTDIR/updated" ] || apt_update
    log "$name: fetching source $name=$ver"
    if ! (cd "$APTDIR/dl" && aptc apt-get -q source --download-only "$name=$ver") \
            >>"$B/log/fetch-$name.log" 2>&1; then
        # Maybe just a stale index: refresh (unless done in this very run)
        # and retry once before giving up.
        [ "$APT_UPDATED" = yes ] || apt_update
        if ! (cd "$APTDIR/dl" && aptc apt-get -q source --download-only "$name=$ver") \
                >>"$B/log/fetch-$name.log" 2>&1; then
            tail -n 5 "$B/log/fetch-$name.log" >&2
            die "$name version $ver (from mk/deps.lock) is not served by the bookworm archives any more.
  Available: $(available_versions "$name" | tr '\n' ' ')
  Update mk/deps.lock (see: sh mk/deps.sh --latest $BUILD_ARG), then rebuild and re-test."
        fi
    fi
    dsc=$APTDIR/dl/${name}_${ver#*:}.dsc
    [ -f "$dsc" ] || die "$name: expected $dsc after download"
    rm -rf "$dir"
    run "fetch-$name" "$B/src" dpkg-source --no-copy -x "$dsc" "$dir"
    got=$(dpkg-parsechangelog -l "$dir/debian/changelog" -S Version)
    gotsrc=$(dpkg-parsechangelog -l "$dir/debian/changelog" -S Source)
    [ "$got" = "$ver" ] && [ "$gotsrc" = "$name" ] ||
        die "$name: extracted $gotsrc $got but mk/deps.lock wants $name $ver"
    touch "$B/stamp/$name-$ver.extracted"
}

# A package whose lock line reads "NAME VERSION SUITE SHA256" is not taken
# from bookworm with apt-get source but from the orig tarball of a newer
# Debian suite (libcoap3 4.3.5 from sid: bookworm serves only 4.3.1, and
# sid's .dsc does not download here although its orig tarball does), or
# of bookworm itself where its source package does not download whole
# (md4c 0.4.8: bookworm's 0.4.8-1 has no Debian patches, and its
# debian.tar.xz is missing from some mirrors).  VERSION is then upstream's.
# lock_field NAME N -> field N of NAME's lock line (empty when absent)
lock_field() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$LOCK"; }

# pool_uri -> the Debian mirror the machine's debian.sources names first
pool_uri() {
    awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null
}

# verify_in_signed_index NAME FILE SHA256 SUITE: the suite's InRelease,
# checked with gpgv against the machine's Debian archive keyring, gives the
# sha256 of main/source/Sources.xz, which lists FILE with its sha256.  A
# suite that has moved on to a newer version no longer lists FILE: then the
# pin alone vouches for the tarball (it was checked this way when written)
# and we say so.  Any mismatch is fatal.
verify_in_signed_index() {
    _name=$1 _file=$2 _sha=$3 _suite=$4
    _d=$B/apt/index-$_suite; _mirror=$(pool_uri)
    mkdir -p "$_d"
    command -v gpgv >/dev/null 2>&1 && [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || {
        log "$_name: no gpgv or debian-archive-keyring: the sha256 pin alone vouches for $_file"
        return 0; }
    if ! curl -fsSL --retry 2 -o "$_d/InRelease" "$_mirror/dists/$_suite/InRelease" ||
       ! curl -fsSL --retry 2 -o "$_d/Sources.xz" "$_mirror/dists/$_suite/main/source/Sources.xz"; then
        log "$_name: cannot fetch $_suite's Sources index: the sha256 pin alone vouches for $_file"
        return 0
    fi
    gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$_d/InRelease" \
        >"$_d/gpgv.log" 2>&1 || die "$_name: $_suite's InRelease has no valid Debian signature ($_d/gpgv.log)"
    _want=$(awk '$3 == "main/source/Sources.xz" && length($1) == 64 { print $1; exit }' "$_d/InRelease")
    _got=$(sha256sum "$_d/Sources.xz" | cut -d' ' -f1)
    [ -n "$_want" ] && [ "$_want" = "$_got" ] ||
        die "$_name: $_suite's Sources.xz does not match its signed InRelease"
    _listed=$(xz -dc "$_d/Sources.xz" | awk -v f="$_file" '
        /^Checksums-Sha256:/ { in_sha = 1; next }
        /^[^ ]/ { in_sha = 0 }
        in_sha && $3 == f { print $1; exit }')
    if [ -z "$_listed" ]; then
        log "$_name: $_suite's signed index no longer lists $_file; the sha256 pin vouches for it"
    elif [ "$_listed" = "$_sha" ]; then
        log "$_name: $_file matches $_suite's signed Sources index"
    else
        die "$_name: $_file is listed in $_suite's signed index with sha256 $_listed, the lock pins $_sha"
    fi
}

# orig_in_apt_index NAME SHA256 -> the file of source package NAME that
# has SHA256 in the private APT index (bookworm's, whose signature
# apt-get update checked), or nothing
orig_in_apt_index() {
    aptc apt-cache showsrc --only-source "$1" 2>/dev/null | awk -v s="$2" '
        /^Checksums-Sha256:/ { c = 1; next }
        /^[^ ]/ { c = 0 }
        c && $1 == s { print $3; exit }'
}

# fetch_orig NAME: download NAME's pinned orig tarball from the mirror's
# pool, check its sha256 against the lock and the suite's signed index
# (bookworm's: the private APT index, which also names the file), and
# extract it into src/NAME-VERSION.
fetch_orig() {
    name=$1; ver=$(lock_version "$name")
    suite=$(lock_field "$name" 3); sha=$(lock_field "$name" 4)
    dir=$B/src/$name-$ver
    [ -f "$B/stamp/$name-$ver.extracted" ] && [ -d "$dir" ] && return 0
    command -v curl >/dev/null 2>&1 || die "curl not found (apt-get install curl)"
    case $name in lib?*) pool=${name%"${name#????}"} ;; *) pool=${name%"${name#?}"} ;; esac
    file=${name}_${ver}.orig.tar.bz2
    if [ "$suite" = bookworm ]; then
        apt_setup
        [ -f "$APTDIR/updated" ] || apt_update
        file=$(orig_in_apt_index "$name" "$sha")
        if [ -z "$file" ] && [ "$APT_UPDATED" = no ]; then
            apt_update; file=$(orig_in_apt_index "$name" "$sha")
        fi
        [ -n "$file" ] || die "$name: bookworm's index lists no file with the sha256 mk/deps.lock pins ($sha)"
    fi
    url=$(pool_uri)/pool/main/$pool/$name/$file
    mkdir -p "$B/apt/dl"
    tarball=$B/apt/dl/$file
    if [ ! -f "$tarball" ] || [ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$sha" ]; then
        log "$name: fetching $url"
        curl -fsSL --retry 3 -o "$tarball.part" "$url" ||
            die "$name $ver: cannot download $url.
  mk/deps.lock pins $file from Debian $suite (sha256 $sha).
  If $suite's pool dropped it, pick the version it serves now, put its orig
  tarball's sha256 (from $suite's signed Sources index) into mk/deps.lock,
  and rebuild and re-test."
        mv "$tarball.part" "$tarball"
    fi
    got=$(sha256sum "$tarball" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || die "$name: $file has sha256 $got, mk/deps.lock pins $sha"
    if [ "$suite" = bookworm ]; then
        log "$name: $file matches bookworm's signed index"
    else
        verify_in_signed_index "$name" "$file" "$sha" "$suite"
    fi
    rm -rf "$dir" "$dir.tmp"; mkdir -p "$dir.tmp"
    run "fetch-$name" "$dir.tmp" tar xf "$tarball"
    mv "$dir.tmp"/* "$dir" && rmdir "$dir.tmp"
    touch "$B/stamp/$name-$ver.extracted"
}

# built NAME [TAG] -> true if NAME at the locked version (and TAG: what
# else it was built with) is already installed
built() { [ -f "$B/stamp/$1-$(lock_version "$1")${2:+-$2}.built" ]; }
mark_built() { touch "$B/stamp/$1-$(lock_version "$1")${2:+-$2}.built"; }

# ---------------------------------------------------------------- kernel headers

# musl-gcc searches only musl's headers; libgpiod (linux/gpio.h), libcoap and
# dbus need kernel UAPI headers.  Expose exactly linux/, asm/ and asm-generic/
# from the host (never all of /usr/include, which would mix in glibc headers).
# A cross build takes all three from its toolchain's headers
# (/usr/HOST/include, Debian's linux-libc-dev-ARCH-cross).
setup_kinc() {
    cross=/usr/$HOST/include
    if [ -n "$HOST" ] && [ -d "$cross/linux" ] && [ -d "$cross/asm" ] &&
       [ -d "$cross/asm-generic" ]; then
        rm -rf "$B/kinc"; mkdir -p "$B/kinc"
        for d in linux asm asm-generic; do ln -s "$cross/$d" "$B/kinc/$d"; done
        return 0
    fi
    arch=$($CC -dumpmachine 2>/dev/null || uname -m); arch=${arch%%-*}
    [ -n "$HOST" ] && arch=${HOST%%-*}
    asm=
    for d in /usr/include/"$arch"-linux-gnu*/asm /usr/include/asm; do
        [ -d "$d" ] && { asm=$d; break; }
    done
    [ -n "$asm" ] || die "no kernel asm headers for $arch (install linux-libc-dev for that architecture)"
    [ -d /usr/include/linux ] && [ -d /usr/include/asm-generic ] ||
        die "no /usr/include/linux or asm-generic (install linux-libc-dev)"
    rm -rf "$B/kinc"; mkdir -p "$B/kinc"
    ln -s /usr/include/linux "$B/kinc/linux"
    ln -s "$asm" "$B/kinc/asm"
    ln -s /usr/include/asm-generic "$B/kinc/asm-generic"
}

# ---------------------------------------------------------------- musl

# build_musl: the target's C library from Debian's musl source, compiled by
# Debian's cross compiler with TARGET_CFLAGS (so libc itself is code for the
# target baseline, e.g. a Pi 2's ARMv7-A/VFPv3-D16/Thumb-2), and a musl-gcc
# wrapper for it.  Debian's own musl-dev:ARCH would need dpkg
# --add-architecture on every machine that builds; this needs nothing but
# the cross compiler, and the version is pinned like every other library.
build_musl() {
    if built musl; then write_musl_gcc; return 0; fi
    command -v "$HOST-gcc" >/dev/null 2>&1 ||
        die "cross compiler $HOST-gcc not found (apt-get install gcc-$HOST)"
    fetch_source musl
    src=$B/src/musl-$(lock_version musl); obj=$B/bld/musl
    rm -rf "$obj" "$MUSL"; mkdir -p "$obj"
    log "musl: configure + make -j$JOBS ($HOST-gcc $TARGET_CFLAGS)"
    # Static only: nano links everything statically, and a libc.so would
    # need a dynamic loader path on the target.
    run musl "$obj" "$src/configure" --target="$HOST" --prefix="$MUSL" \
        --disable-shared --enable-wrapper=gcc \
        CROSS_COMPILE="$HOST-" CC="$HOST-gcc" CFLAGS="$TARGET_CFLAGS"
    run musl "$obj" make -j"$JOBS"
    run musl "$obj" make install
    [ -f "$MUSL/lib/libc.a" ] && [ -f "$MUSL/lib/musl-gcc.specs" ] ||
        die "musl: install left no lib/libc.a or lib/musl-gcc.specs in $MUSL"
    write_musl_gcc
    mark_built musl
}

write_musl_gcc() {
    # musl's own wrapper calls plain $HOST-gcc; ours adds the target flags,
    # so configure checks, the libraries and nano all get the same code
    # generation without anyone having to repeat them, and -static: this
    # musl has no libc.so, and a dynamic-style link puts libgcc after libc
    # (ARM's __aeabi_ldiv0 then misses raise()), failing configure's checks.
    {
        echo '#!/bin/sh'
        echo "# generated by mk/deps.sh: $HOST-gcc against the musl in $MUSL"
        echo "exec \"\${REALGCC:-$HOST-gcc}\" $TARGET_CFLAGS -static \"\$@\" -specs \"$MUSL/lib/musl-gcc.specs\""
    } >"$CC.new"
    chmod +x "$CC.new"; mv "$CC.new" "$CC"
}

# check_host_musl: a native build uses Debian's musl-tools; say so when its
# version is not the one the cross targets are built from.
check_host_musl() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    want=$(lock_version musl)
    have=$(dpkg-query -W -f '${Version}' musl-dev 2>/dev/null) || have=
    [ -z "$have" ] || [ "$have" = "$want" ] ||
        log "warning: host musl-dev is $have, mk/deps.lock pins musl $want for the cross targets"
}

# ---------------------------------------------------------------- libraries

# build_mbedtls: the three static libraries from Debian's mbedtls source,
# with mk/mbedtls-config.h as the whole configuration.  Only library/ is
# built (its own Makefile: plain make and cc, no CMake, no Python), in a copy
# of the tree under bld/ so src/ stays pristine; the installed
# mbedtls/config.h is nano's, so whatever includes the installed headers
# (libcoap) sees exactly what the library was compiled with.
build_mbedtls() {
    built mbedtls "cfg-$MBEDTLS_CONFIG_ID" && return 0
    fetch_source mbedtls
    src=$B/src/mbedtls-$(lock_version mbedtls); obj=$B/bld/mbedtls
    rm -rf "$obj"; mkdir -p "$obj"
    cp -R "$src/library" "$src/include" "$src/3rdparty" "$obj/"
    log "mbedtls: make -j$JOBS (library only, config mk/mbedtls-config.h)"
    # The Makefile's .SILENT hides the commands; its CFLAGS default (-O2)
    # is replaced by ours, its warnings and -I stay in LOCAL_CFLAGS.
    mbedtls_cflags="$DEPS_CFLAGS $DEPS_CPPFLAGS -DMBEDTLS_CONFIG_FILE='\"$MBEDTLS_CONFIG\"'"
    run mbedtls "$obj/library" make -j"$JOBS" CC="$CC" AR="$AR" \
        CFLAGS="$mbedtls_cflags" libmbedcrypto.a libmbedx509.a libmbedtls.a
    # the entropy source the config names (MBEDTLS_ENTROPY_HARDWARE_ALT)
    run mbedtls "$obj/library" sh -c "$CC -Wall -Wextra -I../include $mbedtls_cflags \
        -c '$MBEDTLS_ENTROPY' -o nano-getrandom.o && $AR rs libmbedcrypto.a nano-getrandom.o"
    rm -rf "$PREFIX/include/mbedtls" "$PREFIX/include/psa"
    cp -R "$src/include/mbedtls" "$src/include/psa" "$PREFIX/include/"
    cp "$MBEDTLS_CONFIG" "$PREFIX/include/mbedtls/config.h"
    cp "$obj/library/libmbedcrypto.a" "$obj/library/libmbedx509.a" \
       "$obj/library/libmbedtls.a" "$PREFIX/lib/"
    mark_built mbedtls "cfg-$MBEDTLS_CONFIG_ID"
}

build_libcoap() {
    # built against this mbedtls and its configuration
    tag="mbedtls-$(lock_version mbedtls)-cfg-$MBEDTLS_CONFIG_ID"
    built libcoap3 "$tag" && return 0
    fetch_orig libcoap3
    src=$B/src/libcoap3-$(lock_version libcoap3); obj=$B/bld/libcoap
    # The orig tarball has no generated configure (Debian runs autoreconf).
    [ -x "$src/configure" ] || { log "libcoap: autoreconf -fi"; run libcoap "$src" autoreconf -fi; }
    log "libcoap: configure (DTLS with mbedTLS, epoll)"
    # DTLS with mbedTLS (PSK, RFC 7252 section 9): CoAP on the building's
    # network is encrypted and authenticated per peer.  Both MbedTLS_CFLAGS
    # and MbedTLS_LIBS are given, so configure skips pkg-config (mbedTLS 2.28
    # ships no .pc) and test-links with exactly these, in static link order.
    # Off: what nano never uses and an attacker could reach (TCP,
    # WebSockets, Q-Block, OSCORE, the proxy code) or that only costs
    # (locking for threads nano does not have).  Async (separate responses)
    # stays: req_defer() needs it.
    configure_autotools libcoap "$src" "$obj" \
        --enable-dtls --with-mbedtls \
        --disable-documentation --disable-doxygen \
        --disable-manpages --disable-examples --disable-examples-source \
        --disable-tests --disable-gcov --with-epoll \
        --disable-tcp --disable-websockets --disable-q-block --disable-oscore \
        --disable-proxy-code --disable-observe-persist --disable-af-unix-support \
        --disable-thread-safe --disable-thread-recursive-lock-detection \
        --enable-async --enable-server-mode --enable-client-mode \
        MbedTLS_CFLAGS="-I$PREFIX/include" \
        MbedTLS_LIBS="-L$PREFIX/lib -lmbedtls -lmbedx509 -lmbedcrypto" \
        ${LIBCOAP_CONFIGURE:-}
    grep -q '^#define COAP_WITH_LIBMBEDTLS 1' "$obj/coap_config.h" ||
        die "libcoap: configure did not take mbedTLS (see $B/log/libcoap.log)"
    log "libcoap: make -j$JOBS"
    run libcoap "$obj" make -j"$JOBS"
    # A libcoap of another flavour (the notls one of earlier builds) must
    # not stay next to this one for a -lcoap-3-... to pick up.
    rm -f "$PREFIX"/lib/libcoap-3*.a "$PREFIX"/lib/libcoap-3*.la \
          "$PREFIX"/lib/pkgconfig/libcoap-3*.pc
    run libcoap "$obj" make install
    mark_built libcoap3 "$tag"
}

build_sqlite() {
    built sqlite3 && return 0
    fetch_source sqlite3
    src=$B/src/sqlite3-$(lock_version sqlite3); obj=$B/bld/sqlite
    # The source package is the full tree, not the amalgamation; generating
    # sqlite3.c needs the host compiler (lemon, mkkeywordhash) and tclsh.
    # Debian's 40-amalgamation_configure.patch puts @AMALGAMATION_LINE_MACROS@
    # into Makefile.in but defines it only in configure.ac (Debian runs
    # autoreconf; the shipped configure lacks it), so pass it to make.
    rm -rf "$obj"; mkdir -p "$obj/amal"
    log "sqlite: generating amalgamation sqlite3.c (host $BUILD_CC + tclsh)"
    run sqlite "$obj/amal" env CC="$BUILD_CC" CFLAGS=-O2 "$src/configure" --disable-tcl
    run sqlite "$obj/amal" make sqlite3.c AMALGAMATION_LINE_MACROS=--linemacros=0
    # Compile options (see https://sqlite.org/compile.html): no threads, no
    # dlopen, strict quoting, FKs on, in-memory temp storage.  HAVE_USLEEP
    # matters: without it busy_timeout sleeps in whole seconds.
    log "sqlite: compiling sqlite3.c with $CC"
    run sqlite "$obj" $CC $DEPS_CPPFLAGS $DEPS_CFLAGS \
        -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION \
        -DSQLITE_OMIT_DEPRECATED -DSQLITE_DQS=0 -DSQLITE_TEMP_STORE=3 \
        -DSQLITE_DEFAULT_FOREIGN_KEYS=1 -DSQLITE_DEFAULT_WAL_SYNCHRONOUS=1 \
        -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_MAX_EXPR_DEPTH=0 \
        -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_USE_ALLOCA \
        -DSQLITE_OMIT_PROGRESS_CALLBACK \
        -DHAVE_USLEEP=1 -DHAVE_LOCALTIME_R=1 -DHAVE_GMTIME_R=1 \
        -DHAVE_FDATASYNC=1 -DHAVE_STRCHRNUL=1 \
        -c amal/sqlite3.c -o sqlite3.o
    rm -f "$obj/libsqlite3.a"
    run sqlite "$obj" $AR rcs libsqlite3.a sqlite3.o
    cp "$obj/libsqlite3.a" "$PREFIX/lib/"
    cp "$obj/amal/sqlite3.h" "$PREFIX/include/"
    mark_built sqlite3
}

build_cjson() {
    built cjson && return 0
    fetch_source cjson
    src=$B/src/cjson-$(lock_version cjson); obj=$B/bld/cjson
    # A single C file; its CMake build adds nothing we need.
    rm -rf "$obj"; mkdir -p "$obj"
    log "cjson: compiling cJSON.c with $CC"
    run cjson "$obj" $CC $DEPS_CPPFLAGS $DEPS_CFLAGS -c "$src/cJSON.c" -o cJSON.o
    run cjson "$obj" $AR rcs libcjson.a cJSON.o
    mkdir -p "$PREFIX/include/cjson"
    cp "$obj/libcjson.a" "$PREFIX/lib/"
    cp "$src/cJSON.h" "$PREFIX/include/cjson/"
    mark_built cjson
}

build_gpiod() {
    built libgpiod && return 0
    fetch_source libgpiod
    src=$B/src/libgpiod-$(lock_version libgpiod); obj=$B/bld/libgpiod
    regen_if_patched libgpiod "$src"
    log "libgpiod: configure + make -j$JOBS"
    configure_autotools libgpiod "$src" "$obj" \
        --disable-tools --disable-tests \
        --disable-bindings-cxx --disable-bindings-python
    run libgpiod "$obj" make -j"$JOBS"
    run libgpiod "$obj" make install
    mark_built libgpiod
}

build_dbus() {
    built dbus && return 0
    fetch_source dbus
    src=$B/src/dbus-$(lock_version dbus); obj=$B/bld/dbus
    log "dbus: configure (libdbus only)"
    # configure insists on expat (pkg-config), which only the bus daemon uses;
    # preset the PKG_CHECK_MODULES result so the host's glibc expat is never
    # looked at.  X11 autolaunch, systemd etc. are off: nano is a plain client.
    configure_autotools dbus "$src" "$obj" \
        --disable-maintainer-mode \
        --disable-systemd --disable-selinux --disable-apparmor \
        --disable-libaudit --disable-inotify --disable-kqueue \
        --disable-launchd --disable-x11-autolaunch --without-x \
        --disable-doxygen-docs --disable-xml-docs --disable-ducktype-docs \
        --disable-qt-help --disable-tests --disable-modular-tests \
        --disable-installed-tests --disable-embedded-tests \
        --disable-asserts --disable-verbose-mode --disable-stats \
        --disable-code-coverage --disable-Werror \
        --with-system-socket=/run/dbus/system_bus_socket \
        EXPAT_CFLAGS=" " EXPAT_LIBS=" "
    log "dbus: make -j$JOBS libdbus-1.la"
    run dbus "$obj/dbus" make -j"$JOBS" libdbus-1.la
    # Install only the library, its public headers and dbus-1.pc with
    # automake's per-directory install targets (no daemon, no tools).
    run dbus "$obj/dbus" make install-libLTLIBRARIES \
        install-dbusincludeHEADERS install-nodist_dbusarchincludeHEADERS
    run dbus "$obj" make install-pkgconfigDATA
    mark_built dbus
}

build_microhttpd() {
    built libmicrohttpd && return 0
    fetch_source libmicrohttpd
    src=$B/src/libmicrohttpd-$(lock_version libmicrohttpd); obj=$B/bld/libmicrohttpd
    regen_if_patched libmicrohttpd "$src"
    log "libmicrohttpd: configure (epoll, no TLS) + make -j$JOBS"
    # mrs's kiosk page: HTTP/1.1 on the role's own loop (MHD_USE_EPOLL
    # without an internal thread: its epoll fd is one more fd of
    # src/loop.c), so nano starts no thread.  It is built with pthreads
    # all the same: 0.9.75 --with-threads=none does not link (its
    # MHD_get_timeout calls connection_get_wait, which is compiled only
    # with threads).  Off: TLS (the page is served on loopback, or behind
    # a kiosk token on the building's network), the POST parser,
    # basic/digest auth, Upgrade (WebSockets), the error messages' texts,
    # poll()/select() backends and the docs.
    configure_autotools libmicrohttpd "$src" "$obj" \
        --with-threads=posix --disable-thread-names \
        --enable-epoll=yes --enable-poll=no --enable-itc=eventfd \
        --disable-https --without-gnutls --disable-curl \
        --disable-postprocessor --disable-bauth --disable-dauth \
        --disable-httpupgrade --disable-messages \
        --disable-doc --disable-examples --disable-nls
    grep -q '^#define EPOLL_SUPPORT 1' "$obj/MHD_config.h" ||
        die "libmicrohttpd: configure did not take epoll (see $B/log/libmicrohttpd.log)"
    run libmicrohttpd "$obj/src/microhttpd" make -j"$JOBS"
    run libmicrohttpd "$obj/src/microhttpd" make install-libLTLIBRARIES
    run libmicrohttpd "$obj/src/include" make install-includeHEADERS
    run libmicrohttpd "$obj" make install-pkgconfigDATA
    mark_built libmicrohttpd
}

build_md4c() {
    built md4c && return 0
    fetch_orig md4c
    src=$B/src/md4c-$(lock_version md4c); obj=$B/bld/md4c
    # Only the parser, one C file (its CMake build adds nothing we need);
    # nano renders the HTML itself from md4c's callbacks (src/render.c),
    # so md4c-html and its entity table stay out.
    rm -rf "$obj"; mkdir -p "$obj"
    log "md4c: compiling md4c.c with $CC"
    run md4c "$obj" $CC $DEPS_CPPFLAGS $DEPS_CFLAGS -DMD4C_USE_UTF8 -c "$src/src/md4c.c" -o md4c.o
    rm -f "$obj/libmd4c.a"
    run md4c "$obj" $AR rcs libmd4c.a md4c.o
    cp "$obj/libmd4c.a" "$PREFIX/lib/"
    cp "$src/src/md4c.h" "$PREFIX/include/"
    mark_built md4c
}

fetch_bluez_docs() {
    built bluez && return 0
    fetch_source bluez
    src=$B/src/bluez-$(lock_version bluez)
    # Reference only: nano talks to bluetoothd over D-Bus; nothing is built.
    log "bluez: installing D-Bus API docs"
    rm -rf "$PREFIX/share/doc/bluez"; mkdir -p "$PREFIX/share/doc/bluez"
    cp "$src"/doc/*-api.txt "$src"/doc/errors.txt "$PREFIX/share/doc/bluez/"
    mark_built bluez
}

# ---------------------------------------------------------------- verify

# verify_mbedtls: libcoap with DTLS over mbedTLS, and the headers installed
# with nano's configuration (the one the libraries were compiled with).
verify_mbedtls() {
    for f in lib/libcoap-3-mbedtls.a lib/libmbedtls.a lib/libmbedx509.a \
             lib/libmbedcrypto.a include/coap3/coap.h include/mbedtls/ssl.h; do
        [ -f "$PREFIX/$f" ] || die "verify: missing $PREFIX/$f"
    done
    cmp -s "$MBEDTLS_CONFIG" "$PREFIX/include/mbedtls/config.h" ||
        die "verify: $PREFIX/include/mbedtls/config.h is not mk/mbedtls-config.h"
    ! ls "$PREFIX"/lib/libcoap-3-notls.a >/dev/null 2>&1 ||
        die "verify: a stale libcoap-3-notls.a is in $PREFIX/lib"
}

verify() {
    log "verify: libraries and a static test link"
    verify_mbedtls
    for f in lib/libsqlite3.a lib/libcjson.a \
             lib/libgpiod.a lib/libdbus-1.a \
             include/coap3/coap.h include/sqlite3.h include/cjson/cJSON.h \
             include/gpiod.h include/dbus-1.0/dbus/dbus.h \
             lib/libmicrohttpd.a include/microhttpd.h lib/libmd4c.a include/md4c.h \
             lib/dbus-1.0/include/dbus/dbus-arch-deps.h \
             share/doc/bluez/adapter-api.txt; do
        [ -f "$PREFIX/$f" ] || die "verify: missing $PREFIX/$f"
    done
    rm -f "$PREFIX"/lib/*.la          # libtool archives: absolute paths, unused
    obj=$B/bld/verify; rm -rf "$obj"; mkdir -p "$obj"
    cat >"$obj/t.c" <<'EOF'
#include <stdio.h>
#include <coap3/coap.h>
#include <sqlite3.h>
#include <cjson/cJSON.h>
#include <gpiod.h>
#include <dbus/dbus.h>
#include <microhttpd.h>
#include <md4c.h>

static int md_block(MD_BLOCKTYPE t, void *d, void *u) { (void)t; (void)d; ++*(int *)u; return 0; }
static int md_span(MD_SPANTYPE t, void *d, void *u) { (void)t; (void)d; (void)u; return 0; }
static int md_text(MD_TEXTTYPE t, const MD_CHAR *s, MD_SIZE n, void *u) { (void)t; (void)s; (void)n; (void)u; return 0; }

int main(void)
{
    int maj, min, mic;
    sqlite3 *db;

    coap_tls_version_t *tls;

    coap_startup();
    tls = coap_get_tls_library_version();
    if (!coap_dtls_psk_is_supported() || tls->type != COAP_TLS_LIBRARY_MBEDTLS) {
        fprintf(stderr, "libcoap without DTLS-PSK over mbedTLS\n");
        return 1;
    }
    dbus_get_version(&maj, &min, &mic);
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
    sqlite3_close(db);
    {
        MD_PARSER p = { 0, MD_FLAG_NOHTML, md_block, md_block, md_span, md_span, md_text, NULL, NULL };
        int blocks = 0;
        if (md_parse("# x\n\ny", 6, &p, &blocks) != 0 || blocks != 6) {
            fprintf(stderr, "md4c parsed %d blocks, not 6\n", blocks);
            return 1;
        }
    }
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES ||
        MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES) {
        fprintf(stderr, "libmicrohttpd without epoll or with TLS\n");
        return 1;
    }
    printf("%s, mbedTLS %d.%d.%d, sqlite %s, cJSON %s, libgpiod %s, libdbus %d.%d.%d, "
           "libmicrohttpd %s, md4c\n",
           coap_package_version(), (int)(tls->version >> 24),
           (int)(tls->version >> 16 & 0xff), (int)(tls->version >> 8 & 0xff),
           sqlite3_libversion(), cJSON_Version(),
           gpiod_version_string(), maj, min, mic, MHD_get_version());
    coap_cleanup();
    return 0;
}
EOF
    run verify "$obj" $CC -static $DEPS_CPPFLAGS -Os \
        -I"$PREFIX/include" -I"$PREFIX/include/dbus-1.0" \
        -I"$PREFIX/lib/dbus-1.0/include" t.c -o t \
        -L"$PREFIX/lib" -Wl,--gc-sections \
        -lcoap-3-mbedtls -lmbedtls -lmbedx509 -lmbedcrypto \
        -lsqlite3 -lcjson -lgpiod -ldbus-1 -lmicrohttpd -lmd4c
    # A cross-built program runs under Debian's qemu-user-static, called
    # directly (binfmt registration is not needed for this check).
    if [ -z "$HOST" ]; then
        out=$("$obj/t") || die "verify: test program failed"
        log "verify: $out"
    elif qemu=$(qemu_for "$HOST") && command -v "$qemu" >/dev/null 2>&1; then
        out=$("$qemu" "$obj/t") || die "verify: test program failed under $qemu"
        log "verify ($qemu): $out"
    else
        log "verify: cross build for $HOST, test program linked but not run (no qemu-user-static)"
    fi
    file -b "$obj/t" | grep -q 'statically linked' ||
        die "verify: test program is not statically linked: $(file -b "$obj/t")"
}

# qemu_for TRIPLET -> the qemu-user-static binary that runs its programs
qemu_for() {
    case $1 in
    aarch64-*) echo qemu-aarch64-static ;;
    arm*-*)    echo qemu-arm-static ;;
    *)         return 1 ;;
    esac
}

# ---------------------------------------------------------------- main

if [ "$MODE" = latest ]; then
    apt_update >&2
    echo "# newest versions served by the configured bookworm archives" >&2
    for n in $(awk '!/^#/ && NF { print $1 }' "$LOCK"); do
        echo "$n $(newest_version "$n")"
    done
    exit 0
fi

log "building into $PREFIX (CC=$CC${HOST:+ HOST=$HOST} JOBS=$JOBS)"
if [ "$CROSS_MUSL" = yes ]; then
    command -v "$HOST-gcc" >/dev/null 2>&1 || die "cross compiler '$HOST-gcc' not found (apt-get install gcc-$HOST)"
else
    command -v "${CC%% *}" >/dev/null 2>&1 || die "compiler '$CC' not found (apt-get install musl-tools)"
fi
for t in apt-get dpkg-source dpkg-parsechangelog autoreconf make tclsh curl "$BUILD_CC"; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' not found (see 'Needs' at the top of mk/deps.sh)"
done

rm -f "$STAMP"
setup_kinc
if [ -n "${ONLY:-}" ]; then
    for n in $ONLY; do
        case $n in
        mbedtls|libcoap3) ;;
        *) die "ONLY=$n: only mbedtls and libcoap3 can be built alone" ;;
        esac
    done
    # in this order whatever ONLY's: libcoap is configured against the
    # prefix's mbedTLS
    case " $ONLY " in *" mbedtls "*) build_mbedtls ;; esac
    case " $ONLY " in *" libcoap3 "*) build_libcoap; verify_mbedtls ;; esac
    lock_for_build >"$STAMP"
    log "done in $(( $(date +%s) - T0 ))s, prefix: $PREFIX"
    exit 0
fi
if [ "$CROSS_MUSL" = yes ]; then build_musl; else check_host_musl; fi
build_cjson
build_sqlite
build_gpiod
build_mbedtls
build_libcoap
build_dbus
build_microhttpd
build_md4c
fetch_bluez_docs
verify
lock_for_build >"$STAMP"
log "done in $(( $(date +%s) - T0 ))s, prefix: $PREFIX"

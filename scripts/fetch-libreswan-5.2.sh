#!/usr/bin/env bash
# Download Libreswan 5.2 from Debian 13 (trixie) and extract it, with the trixie libraries its
# pluto needs, into DEST/root, so that tests can run 5.2 beside the installed 4.10.
#
# Usage: scripts/fetch-libreswan-5.2.sh [DEST]     (default: PROJECT/.build/libreswan-5.2)
#
# Nothing is installed into the system, and the system's apt state stays unchanged. The trixie
# sources entry, package lists and cache live in a temporary directory that apt reads through -o
# options. An EXIT trap deletes that directory whether the run succeeds or fails. The mirror is
# the one that already serves this machine's own release, read from its apt sources.
#
# Result:
#   DEST/root/...        the extracted packages (libreswan, libc6, libldap2)
#   DEST/wrappers/NAME   a shell script that starts DEST/root/usr/libexec/ipsec/NAME through
#                        trixie's dynamic loader; written for pluto, and for any other program
#                        that the host's loader cannot start
#   DEST/debs/           the downloaded .deb files
#   DEST/VERSION         the output of `pluto --version`
# Running the script again with a complete DEST only re-checks it.
#
# Exit status: 0 on success, 3 when apt could not download the package lists or the packages
# (for example, the mirror is unreachable), 1 on any other error.
set -euo pipefail

log() { echo "fetch-libreswan-5.2: $*"; }
die() { echo "fetch-libreswan-5.2: error: $*" >&2; exit 1; }
die_download() { echo "fetch-libreswan-5.2: error: $*" >&2; exit 3; }

top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$top/.build/libreswan-5.2}
case "$dest" in
    /*) ;;
    *) dest=$PWD/$dest ;;
esac
case "$dest" in
    *"'"*) die "DEST must not contain a single quote, because the generated wrappers quote paths with it: $dest" ;;
esac
parent=$(dirname "$dest")
target_suite=trixie
expected_version=5.2
# Debian 13's pluto needs libldap.so.2 (libldap2), which needs glibc 2.38, newer than Debian 12's
# 2.36. Debian 12 provides every other library that pluto links against (checked below).
packages=(libreswan libldap2 libc6)

for tool in apt-get dpkg-deb flock ldd; do
    command -v "$tool" >/dev/null 2>&1 || die "required command '$tool' not found"
done

# Check a DEST tree: pluto starts through its wrapper and reports the expected version.
# Prints the version line on success.
check_tree() {
    local tree=$1 line
    [ -x "$tree/wrappers/pluto" ] || return 1
    line=$("$tree/wrappers/pluto" --version 2>/dev/null | head -n 1) || return 1
    case "$line" in
        "Libreswan $expected_version "* | "Libreswan $expected_version") echo "$line" ;;
        *) return 1 ;;
    esac
}

mkdir -p "$parent"
# Serialise concurrent runs for the same parent directory, for example two test sessions.
exec 9<"$parent"
flock 9

if [ -f "$dest/VERSION" ] && version_line=$(check_tree "$dest"); then
    log "$dest already contains $version_line"
    exit 0
fi

# An incomplete DEST is replaced below, so refuse to delete a directory that is not one of ours.
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ] \
    && [ ! -e "$dest/VERSION" ] && [ ! -d "$dest/wrappers" ] && [ ! -d "$dest/root/usr/libexec/ipsec" ]; then
    die "$dest exists and is not a Libreswan $expected_version tree from this script; pass a new or empty directory"
fi

started=$(date +%s.%N)

# The mirror: the first "deb" repository that serves this machine's own release (for example
# bookworm). `apt-get indextargets` reads both one-line and deb822 sources files.
. /etc/os-release
host_suite=${VERSION_CODENAME:-}
[ -n "$host_suite" ] || die "VERSION_CODENAME is missing from /etc/os-release"
# The $(...) placeholders are apt's format fields, not shell expansions.
# shellcheck disable=SC2016
mirror=$(apt-get indextargets --no-release-info --format '$(TARGET_OF) $(RELEASE) $(REPO_URI)' \
    | awk -v suite="$host_suite" '$1 == "deb" && $2 == suite { print $3; exit }')
[ -n "$mirror" ] || die "no apt source for '$host_suite' found in /etc/apt/sources.list or /etc/apt/sources.list.d/; cannot choose a mirror for $target_suite"
log "mirror: $mirror (serves $host_suite)"

stage=$(mktemp -d "$parent/.libreswan-5.2.partial.XXXXXX")
chmod 0755 "$stage"
cleanup() {
    rm -rf "$stage"
}
trap cleanup EXIT

# A private apt configuration: its own sources list, no sources.list.d, no preferences, its own
# package lists and cache. apt still reads /etc/apt/apt.conf.d and dpkg's status file.
aptdir=$stage/apt
mkdir -p "$aptdir/parts" "$aptdir/preferences.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ -f "$keyring" ]; then
    echo "deb [signed-by=$keyring] $mirror $target_suite main" > "$aptdir/sources.list"
else
    echo "deb $mirror $target_suite main" > "$aptdir/sources.list"
fi
apt_options=(
    -o "Dir::Etc::SourceList=$aptdir/sources.list"
    -o "Dir::Etc::SourceParts=$aptdir/parts"
    -o "Dir::Etc::Preferences=$aptdir/preferences"
    -o "Dir::Etc::PreferencesParts=$aptdir/preferences.d"
    -o "Dir::State::Lists=$aptdir/lists"
    -o "Dir::Cache=$aptdir/cache"
    # The staging directory belongs to the caller, so the _apt user could not write into it.
    -o "APT::Sandbox::User=$(id -un)"
)

log "apt-get update for $target_suite (private lists in $aptdir)"
# --error-on=any turns a failed index download, which apt reports only as a warning, into an error.
apt-get "${apt_options[@]}" -q --error-on=any update >"$aptdir/update.log" 2>&1 \
    || { cat "$aptdir/update.log" >&2; die_download "apt-get update for $target_suite on $mirror failed"; }

candidate=$(apt-cache "${apt_options[@]}" policy libreswan | awk '$1 == "Candidate:" { print $2 }')
case "$candidate" in
    "$expected_version"-*) ;;
    *) die "$target_suite on $mirror offers libreswan '$candidate', expected $expected_version-*" ;;
esac

mkdir -p "$stage/debs"
# PACKAGE/SUITE keeps apt from choosing a version installed from Debian 12.
versioned=()
for package in "${packages[@]}"; do
    versioned+=("$package/$target_suite")
done
log "apt-get download ${versioned[*]}"
(cd "$stage/debs" && apt-get "${apt_options[@]}" -q download "${versioned[@]}" >"$aptdir/download.log" 2>&1) \
    || { cat "$aptdir/download.log" >&2; die_download "apt-get download from $mirror failed"; }
download_bytes=$(du -cb "$stage"/debs/*.deb | tail -n 1 | cut -f 1)

for deb in "$stage"/debs/*.deb; do
    dpkg-deb -x "$deb" "$stage/root"
done

# Trixie's loader and C library: the wrappers start programs with them, and with
# --library-path the programs' children (shells, host tools) keep the host's own libraries.
libc=$(find "$stage/root" -name libc.so.6 -print -quit)
[ -n "$libc" ] || die "libc.so.6 not found in the extracted libc6 package"
libdir=$(dirname "$libc")
loader=$(find "$libdir" -maxdepth 1 -name 'ld-linux*.so.*' -print -quit)
[ -n "$loader" ] || die "no dynamic loader (ld-linux*.so.*) found in $libdir"
execdir=$stage/root/usr/libexec/ipsec
[ -x "$execdir/pluto" ] || die "usr/libexec/ipsec/pluto not found in the libreswan package"

# The wrappers carry final DEST paths because the staging directory is renamed to DEST below.
final_libdir=$dest/${libdir#"$stage"/}
final_loader=$dest/${loader#"$stage"/}
final_execdir=$dest/root/usr/libexec/ipsec
write_wrapper() {
    local name=$1
    # Started through a symbolic link named after the program, the loader process gets that
    # name as its command name, so `pidof NAME` and `ps -C NAME` still find it.
    ln -s "$final_loader" "$stage/wrappers/.loader/$name"
    cat > "$stage/wrappers/$name" <<EOF
#!/bin/sh
# Generated by scripts/fetch-libreswan-5.2.sh: start Libreswan 5.2's $name with the C library
# of Debian 13 that was extracted beside it. --library-path does not leak into child processes.
exec '$dest/wrappers/.loader/$name' --library-path '$final_libdir' --argv0 "\$0" '$final_execdir/$name' "\$@"
EOF
    chmod 0755 "$stage/wrappers/$name"
}
mkdir -p "$stage/wrappers/.loader"
write_wrapper pluto

# Every other program runs directly when the host's loader resolves all of its libraries and
# symbol versions; the others get a wrapper as well.
for program in "$execdir"/*; do
    name=$(basename "$program")
    [ "$name" = pluto ] && continue
    if [ ! -f "$program" ] || [ ! -x "$program" ]; then continue; fi
    [ "$(head -c 4 "$program" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    # ldd reports both a missing library and a missing symbol version as "not found".
    if ldd "$program" 2>&1 | grep -q 'not found'; then
        log "$name cannot start with the host's libraries; writing a wrapper for it"
        write_wrapper "$name"
    fi
done

# Missing libraries would only show when pluto starts, so list them now.
missing=$("$loader" --library-path "$libdir" --list "$execdir/pluto" 2>&1 | grep 'not found' || true)
[ -z "$missing" ] || die "pluto 5.2 cannot find these libraries on this host: $missing; add the trixie packages that provide them to 'packages' in $0"

rm -rf "$aptdir"
rm -rf "$dest"
mv "$stage" "$dest"
trap - EXIT

version_line=$(check_tree "$dest") || die "$dest/wrappers/pluto --version does not report Libreswan $expected_version"
echo "$version_line" > "$dest/VERSION"
whack=$dest/root/usr/libexec/ipsec/whack
[ -x "$dest/wrappers/whack" ] && whack=$dest/wrappers/whack
whack_version=$("$whack" --version 2>&1 | head -n 1)

finished=$(date +%s.%N)
log "pluto: $version_line"
log "whack: $whack_version"
log "downloaded $(awk -v b="$download_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }') in ${#packages[@]} packages; fetch and extract took $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f s", b - a }')"
log "installed into $dest"

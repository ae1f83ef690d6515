#!/usr/bin/env bash
# PID 1 of the User-Mode Linux guest that tests/guest/runner.py boots.
#
# The kernel mounts the host's root file system read-only through hostfs. This script mounts the
# kernel file systems, puts a tmpfs-backed overlay on each writable directory, loads kernel
# modules, mounts the host results directory read-write at its host path, runs one command and
# powers the guest off.
#
# The kernel command line sets guest_results to the host results directory. The runner passes
# everything else as files in its guest-run/ subdirectory, so no command text goes through the
# kernel command line. Lists are NUL-terminated entries:
#   argv      the command and its arguments
#   env       the whole environment of the command, NAME=VALUE entries
#   cwd       the working directory (one entry)
#   writable  directories that get an overlay, parents before children
#   modules   kernel modules to load with modprobe
# This script writes back into the same directory:
#   init.log    its own messages
#   started     the guest uptime when the command started
#   output.txt  stdout and stderr of the command, which also go to /dev/ttyS0 as they come
#   dmesg.txt   the kernel log after the command
#   status      the exit status of the command; written last, so it exists only after a full run

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
umask 022

results_mount=/run/guest-results
overlay_root=/run/guest-overlays
control=""

# Writes a message to the console and, once the results directory is mounted, to init.log with
# the guest uptime in seconds.
log() {
    local uptime rest
    read -r uptime rest </proc/uptime 2>/dev/null
    echo "guest-init: $*"
    if [ -n "$control" ]; then
        echo "${uptime:-?} $*" >>"$control/init.log"
    fi
}

# Prints the pid of every process except PID 1, the calling subshell and the pids given as
# arguments. Kernel threads have an empty command line and are left out, and so are zombies.
other_processes() {
    local entry pid spare
    for entry in /proc/[0-9]*; do
        pid=${entry#/proc/}
        [ "$pid" = 1 ] || [ "$pid" = "$BASHPID" ] && continue
        for spare in "$@"; do
            [ "$pid" = "$spare" ] && continue 2
        done
        IFS= read -r -d '' _ <"$entry/cmdline" 2>/dev/null && echo "$pid"
    done
}

# Stops every process except PID 1 and the given pids: SIGTERM, up to 2 s, then SIGKILL.
stop_other_processes() {
    local attempt pids
    for attempt in 1 2 3 4 5 6 7 8 9 10 11; do
        mapfile -t pids < <(other_processes "$@")
        [ "${#pids[@]}" -eq 0 ] && return 0
        if [ "$attempt" -eq 1 ]; then
            log "stopping processes left running: ${pids[*]}"
            kill -TERM "${pids[@]}" 2>/dev/null
        elif [ "$attempt" -ge 10 ]; then
            kill -KILL "${pids[@]}" 2>/dev/null
        fi
        sleep 0.2
    done
}

# Writes the status file if a status is given, unmounts the results directory and powers off.
# Processes still running are stopped first. The kernel panics and UML exits if PID 1 returns.
power_off() {
    local status=${1-}
    trap - EXIT
    stop_other_processes
    if [ -n "$control" ]; then
        dmesg >"$control/dmesg.txt" 2>&1
        if [ -n "$status" ]; then
            echo "$status" >"$control/status"
        fi
    fi
    sync
    if [ -n "${guest_results-}" ] && mountpoint -q "$guest_results"; then
        umount "$guest_results" || umount -l "$guest_results"
    fi
    if mountpoint -q "$results_mount"; then
        umount "$results_mount" || umount -l "$results_mount"
    fi
    sync
    echo o >/proc/sysrq-trigger
    sleep 30
    poweroff -f
}

fail() {
    log "error: $*"
    power_off
    exit 1
}

trap 'fail "init script ended early"' EXIT

mount -t proc -o nosuid,nodev,noexec proc /proc || fail "mounting /proc failed"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mountpoint -q /dev || mount -t devtmpfs -o mode=0755 devtmpfs /dev || fail "mounting /dev failed"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || fail "mounting /run failed"
mkdir -p /run/lock

if [ -z "${guest_results-}" ]; then
    fail "guest_results is not set on the kernel command line"
fi
mkdir -p "$results_mount"
mount -t hostfs -o "$guest_results" hostfs "$results_mount" \
    || fail "mounting host directory $guest_results failed"
control=$results_mount/guest-run
[ -d "$control" ] || fail "control directory guest-run is missing in $guest_results"
: >"$control/init.log"
log "results directory mounted"

mapfile -d '' -t writable <"$control/writable" || fail "reading control file writable failed"
mapfile -d '' -t modules <"$control/modules" || fail "reading control file modules failed"
mapfile -d '' -t command_env <"$control/env" || fail "reading control file env failed"
mapfile -d '' -t command_argv <"$control/argv" || fail "reading control file argv failed"
mapfile -d '' -t command_cwd <"$control/cwd" || fail "reading control file cwd failed"
[ "${#command_argv[@]}" -gt 0 ] || fail "control file argv is empty"

release=$(uname -r)
module_dir=/usr/lib/uml/modules/$release
[ -d "$module_dir" ] || fail "UML modules directory $module_dir is missing"

# overlayfs is a module; it must be loaded by path because /lib/modules is not writable yet.
if ! grep -qw overlay /proc/filesystems; then
    insmod "$module_dir/kernel/fs/overlayfs/overlay.ko" || fail "loading overlay.ko failed"
fi
mkdir -p "$overlay_root"
mount -t tmpfs -o mode=0700,size=75% tmpfs "$overlay_root" \
    || fail "mounting tmpfs on $overlay_root failed"
layers=()
for index in "${!writable[@]}"; do
    layers+=("$overlay_root/$index/upper" "$overlay_root/$index/work")
done
[ "${#layers[@]}" -eq 0 ] || mkdir -p "${layers[@]}" || fail "creating overlay directories failed"
for index in "${!writable[@]}"; do
    directory=${writable[$index]}
    options="lowerdir=$directory,upperdir=$overlay_root/$index/upper,workdir=$overlay_root/$index/work"
    mount -t overlay -o "$options" overlay "$directory" || fail "mounting an overlay on $directory failed"
done
log "overlays mounted on ${writable[*]}"

# modprobe looks in /lib/modules/$release, which the host does not have.
if [ ! -e "/lib/modules/$release" ]; then
    mkdir -p /lib/modules
    ln -s "$module_dir" "/lib/modules/$release" \
        || fail "linking /lib/modules/$release failed; /usr must be writable"
fi
if [ "${#modules[@]}" -gt 0 ]; then
    modprobe -a -- "${modules[@]}" >>"$control/init.log" 2>&1 \
        || fail "loading modules failed (see modprobe messages above): ${modules[*]}"
    log "modules loaded: ${modules[*]}"
fi
echo guest >/proc/sys/kernel/hostname
ip link set lo up || log "warning: bringing up the loopback interface failed"

mkdir -p "$guest_results"
mount --bind "$results_mount" "$guest_results" \
    || fail "bind-mounting the results directory on $guest_results failed"

# The serial line carries the output to the host; raw mode keeps the bytes as they are.
output_line=/dev/ttyS0
stty -F "$output_line" raw -echo 2>>"$control/init.log" || output_line=/dev/null

cd -- "${command_cwd[0]}" || fail "working directory ${command_cwd[0]} is missing"
log "starting ${command_argv[*]}"
read -r uptime _ </proc/uptime
echo "$uptime" >"$control/started"
# The command writes into a pipe, as under CI. Init waits for the command only, not for the end of
# the pipe, because processes that the command left running may keep the pipe open. Those are
# stopped, and then tee reads the end of its input and exits.
exec {relay}> >(exec tee -- "$control/output.txt" >"$output_line")
relay_pid=$!
env -i -- "${command_env[@]}" "${command_argv[@]}" </dev/null >&"$relay" 2>&1 {relay}>&-
status=$?
exec {relay}>&-
cd /
log "command exited with status $status"
stop_other_processes "$relay_pid"
wait "$relay_pid"
power_off "$status"

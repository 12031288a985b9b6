#!/bin/sh
# Writes containerd's registry host configuration for the pull-through cache on this node, keeps it in place, and
# removes it on SIGTERM (DaemonSet deleted, pod evicted or rolled). POSIX sh + sed: runs in busybox, and the e2e tests
# run this same script to configure their containerd (test/e2e/node-mirror.test.ts).
#
#   write-hosts.sh [run|once|remove]     run (default): write, re-check every INTERVAL s, remove on TERM/INT/HUP
#                                        once: write and exit; remove: remove what this install wrote and exit
#
# Env (exit 2 with one line naming the variable on a bad value):
#   ECR_HOSTS        space-separated registry hosts to mirror, e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com"
#   MIRROR           the cache as the node reaches it, e.g. "http://localhost:30008"; {{HOST_IP}} in it stands for
#                    the node's IP (HOST_IP, from the pod's status.hostIP) where localhost:<NodePort> does not answer:
#                    "http://{{HOST_IP}}:30008" (IPv4), or "http://[{{HOST_IP}}]:30008" (IPv6) (docs/nodes.md)
#   INSTALL          this install's name, written into the marker of every file it writes; it replaces and removes
#                    only files carrying its own name (default: POD_NAMESPACE, the DaemonSet's namespace, else
#                    "default"). Letters, digits, '.', '_', '-'; at most 63.
#   CERTS_DIR        containerd's config_path (default /host/certs.d, the hostPath mount of /etc/containerd/certs.d)
#   TEMPLATE         hosts.toml template (default: hosts.toml.tpl beside this script)
#   DIAL_TIMEOUT     how long containerd waits to connect to the mirror before falling back (default 1s)
#   INTERVAL         seconds between checks (default 60)
#
# Never fights other writers: a hosts.toml whose first line is not this install's marker (another install's, the
# AL2023 user data's, anyone's) is left alone (and said so once per host), other files in a host directory are never
# touched, and a host directory is removed only when this install created it and it is empty.
set -eu

MARKER_PREFIX='# managed-by: ecr-pull-through-cache node-config install='
CERTS_DIR=${CERTS_DIR:-/host/certs.d}
TEMPLATE=${TEMPLATE:-$(dirname "$0")/hosts.toml.tpl}
DIAL_TIMEOUT=${DIAL_TIMEOUT:-1s}
INTERVAL=${INTERVAL:-60}
INSTALL=${INSTALL:-${POD_NAMESPACE:-default}}
MODE=${1:-run}
SAID=' ' # hosts already reported as someone else's, so the loop says it once
TMP=''   # the temp file being written, removed by the exit trap if the script stops before the rename
NEWDIR='' # a host directory created for a file not yet in place, removed (if still empty) by the exit trap

# One line always: a newline or control character in a value is shown as '?'.
log() { printf 'write-hosts: %s\n' "$(printf '%s' "$*" | tr '\000-\037\177' '?')" >&2; }
die() { log "$*"; exit 2; }
fail() { log "$*"; exit 1; }

cleanup() {
  if [ -n "$TMP" ]; then rm -f "$TMP"; fi
  if [ -n "$NEWDIR" ]; then rmdir "$NEWDIR" 2>/dev/null || true; fi
  TMP=''
  NEWDIR=''
}
trap cleanup EXIT
# Until the loop installs its own, a signal stops the script the way the exit trap cleans up after.
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# Validation uses case patterns, never grep: grep matches line by line, so a value with a newline would pass it.
# A value checked here holds none of sed's | & \ nor a newline nor a quote, so it can go into the sed expressions.

# True when $1 is a DNS name or IPv4 address: labels of letters, digits and '-', separated by single dots.
is_name() {
  case $1 in '' | *[!A-Za-z0-9.-]* | [.-]* | *[.-] | *..* | *.-* | *-.*) return 1 ;; esac
  [ ${#1} -le 253 ]
}
# True when $1 is a port number, 1-65535.
is_port() {
  case $1 in '' | *[!0-9]* | 0*) return 1 ;; esac
  [ ${#1} -le 5 ] && [ "$1" -le 65535 ]
}
# True when $1 is a dotted-quad IPv4 address.
is_ipv4() {
  case $1 in '' | *[!0-9.]* | .* | *. | *..*) return 1 ;; esac
  rest=$1.
  n=0
  while [ -n "$rest" ]; do
    octet=${rest%%.*}
    rest=${rest#*.}
    n=$((n + 1))
    case $octet in '' | 0[0-9]*) return 1 ;; esac
    [ ${#octet} -le 3 ] && [ "$octet" -le 255 ] || return 1
  done
  [ "$n" -eq 4 ]
}
# True when $1 looks like an IPv6 address (hex digits, colons, at least two of them; an IPv4 tail allowed).
is_ipv6() {
  case $1 in '' | *[!0-9A-Fa-f:.]*) return 1 ;; *:*:*) ;; *) return 1 ;; esac
  [ ${#1} -le 45 ]
}
# True when $1 is host or host:port (a registry host name as containerd's certs.d directories are named).
is_host_port() {
  case $1 in
    *:*) is_name "${1%:*}" && is_port "${1##*:}" ;;
    *) is_name "$1" ;;
  esac
}
# True when $1 is http(s)://authority with no path: host, host:port, [IPv6] or [IPv6]:port.
is_mirror() {
  case $1 in
    http://*) authority=${1#http://} ;;
    https://*) authority=${1#https://} ;;
    *) return 1 ;;
  esac
  case $authority in
    \[*\]) is_ipv6 "${authority#\[}" && return 0 ; return 1 ;;
    \[*\]:*)
      addr=${authority%%\]*}
      port=${authority##*\]:}
      [ "$addr]:$port" = "$authority" ] && is_ipv6 "${addr#\[}" && is_port "$port" ;;
    *) is_host_port "$authority" ;;
  esac
}

[ -n "${ECR_HOSTS:-}" ] || die "ECR_HOSTS is empty: set it to the registry host(s) to mirror, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com"
set -f # no globbing of the unchecked value; once checked it holds no * ? [ to glob
for h in $ECR_HOSTS; do
  is_host_port "$h" || die "ECR_HOSTS: '$h' is not a registry host name (host or host:port, port 1-65535)"
done
set +f
case $INSTALL in
  '' | *[!A-Za-z0-9._-]*) die "INSTALL='$INSTALL' is not a name of letters, digits, '.', '_', '-' (at most 63)" ;;
esac
[ ${#INSTALL} -le 63 ] || die "INSTALL='$INSTALL' is longer than 63 characters"
MIRROR=${MIRROR:-}
case $MIRROR in
  *'{{HOST_IP}}'*'{{HOST_IP}}'*) die "MIRROR uses {{HOST_IP}} more than once" ;;
  *'[{{HOST_IP}}]'*)
    is_ipv6 "${HOST_IP:-}" || die "MIRROR uses [{{HOST_IP}}] (IPv6) but HOST_IP='${HOST_IP:-}' is not an IPv6 address (set it from status.hostIP; on IPv4 nodes use http://{{HOST_IP}}:<port>)"
    ;;
  *'{{HOST_IP}}'*)
    is_ipv4 "${HOST_IP:-}" || die "MIRROR uses {{HOST_IP}} (IPv4) but HOST_IP='${HOST_IP:-}' is not an IPv4 address (set it from status.hostIP; on IPv6 nodes use http://[{{HOST_IP}}]:<port>)"
    ;;
esac
case $MIRROR in
  *'{{HOST_IP}}'*) MIRROR=${MIRROR%%'{{HOST_IP}}'*}$HOST_IP${MIRROR#*'{{HOST_IP}}'} ;;
esac
is_mirror "$MIRROR" ||
  die "MIRROR='$MIRROR' is not http(s)://host[:port] with port 1-65535 (an IPv6 address in brackets, an IPv4 one without), e.g. http://localhost:30008"
case $DIAL_TIMEOUT in
  *ms) n=${DIAL_TIMEOUT%ms} ;;
  *s) n=${DIAL_TIMEOUT%s} ;;
  *) n='' ;;
esac
case $n in '' | 0* | *[!0-9]*) die "DIAL_TIMEOUT='$DIAL_TIMEOUT' is not a positive duration like 1s or 500ms" ;; esac
case $INTERVAL in '' | 0* | *[!0-9]*) die "INTERVAL='$INTERVAL' is not a positive number of seconds" ;; esac
[ ${#INTERVAL} -le 6 ] || die "INTERVAL='$INTERVAL' is more than 999999 seconds"
[ -r "$TEMPLATE" ] || die "TEMPLATE '$TEMPLATE' cannot be read"
# Without the marker first, the files written would never be recognised as ours again (nor removed).
[ "$(head -n 1 "$TEMPLATE")" = "${MARKER_PREFIX}{{INSTALL}}" ] || die "TEMPLATE '$TEMPLATE' does not start with the line '${MARKER_PREFIX}{{INSTALL}}'"
[ -d "$CERTS_DIR" ] || die "CERTS_DIR '$CERTS_DIR' is not a directory: mount containerd's config_path (/etc/containerd/certs.d) there"
case $MODE in run | once | remove) ;; *) die "unknown mode '$MODE': run, once or remove" ;; esac
if [ "$MODE" != remove ]; then
  # A real write, not `test -w`: busybox answers -w with yes for root even on a read-only mount.
  probe=$CERTS_DIR/.write-probe.$INSTALL.$$
  if ! (: > "$probe") 2>/dev/null; then
    die "CERTS_DIR '$CERTS_DIR' is not writable: mount the hostPath read-write, as root (the directory is root's 0755)"
  fi
  rm -f "$probe"
fi

MARKER=$MARKER_PREFIX$INSTALL
# The marker of a file whose host directory this install created: only such a directory is ever removed.
MARKER_DIR="$MARKER dir=created"
OWNS_DIR=false

# True when the file's first line is this install's marker: only then is it ours to replace or remove. Sets OWNS_DIR.
ours() {
  first=''
  OWNS_DIR=false
  IFS= read -r first 2>/dev/null < "$1" || true
  case $first in
    "$MARKER") return 0 ;;
    "$MARKER_DIR") OWNS_DIR=true; return 0 ;;
  esac
  return 1
}

# $1 host, $2 true when the host directory is ours (recorded in the marker line).
render() {
  suffix=''
  if [ "$2" = true ]; then suffix=' dir=created'; fi
  sed -e "1s|{{INSTALL}}\$|$INSTALL$suffix|" -e "s|{{SERVER}}|https://$1|g" -e "s|{{MIRROR}}|$MIRROR|g" \
    -e "s|{{DIAL_TIMEOUT}}|$DIAL_TIMEOUT|g" "$TEMPLATE"
}

leave_alone() {
  case $SAID in *" $1 "*) ;; *) log "left alone: $2 was not written by install '$INSTALL'"; SAID="$SAID $1 " ;; esac
}

write_host() {
  dir=$CERTS_DIR/$1
  file=$dir/hosts.toml
  if [ -e "$file" ] && ! ours "$file"; then
    leave_alone "$1" "$file"
    return 0
  fi
  owns=false
  if [ -e "$file" ]; then
    owns=$OWNS_DIR
  elif mkdir -m 0755 "$dir" 2>/dev/null; then
    # mkdir without -p fails when the directory exists: succeeding is proof that this install created it.
    owns=true
    NEWDIR=$dir
  elif [ ! -d "$dir" ]; then
    fail "cannot create $dir"
  fi
  TMP=$dir/.hosts.toml.$INSTALL.$$
  render "$1" "$owns" > "$TMP" || fail "cannot write $TMP"
  chmod 0644 "$TMP" || fail "cannot chmod $TMP"
  if [ -e "$file" ] && cmp -s "$TMP" "$file"; then
    rm -f "$TMP"
    TMP=''
    return 0
  fi
  if [ -e "$file" ]; then
    # Checked again right before the rename: another writer may have arrived since the first look. What is left is
    # the time between this check and mv, two commands; a shell cannot rename only if the target is unchanged.
    if ! ours "$file"; then
      rm -f "$TMP"
      TMP=''
      leave_alone "$1" "$file"
      return 0
    fi
    mv -f "$TMP" "$file" || fail "cannot rename $TMP to $file"
  elif ! ln "$TMP" "$file" 2>/dev/null; then
    # A new file is linked into place, which fails when any file is there already: no window for another writer.
    rm -f "$TMP"
    TMP=''
    [ -e "$file" ] || fail "cannot link $file"
    NEWDIR='' # someone else's file is in it now: the directory is shared, not ours to remove
    leave_alone "$1" "$file"
    return 0
  else
    rm -f "$TMP"
  fi
  TMP=''
  NEWDIR=''
  log "wrote $file (install $INSTALL, mirror $MIRROR, fallback https://$1)"
}

remove_file() {
  if [ -e "$1" ] && ours "$1"; then
    owns=$OWNS_DIR
    rm -f "$1"
    # Only a directory this install created, and only if empty: other files there are someone else's.
    if [ "$owns" = true ]; then rmdir "$(dirname "$1")" 2>/dev/null || true; fi
    log "removed $1"
  fi
}

wanted() {
  for h in $ECR_HOSTS; do [ "$h" = "$1" ] && return 0; done
  return 1
}

sync_all() {
  for h in $ECR_HOSTS; do write_host "$h"; done
  # A host dropped from ECR_HOSTS: remove the file this install wrote for it earlier (ours() skips everyone else's).
  for f in "$CERTS_DIR"/*/hosts.toml; do
    [ -e "$f" ] || continue
    wanted "$(basename "$(dirname "$f")")" || remove_file "$f"
  done
}

remove_all() {
  for f in "$CERTS_DIR"/*/hosts.toml; do
    [ -e "$f" ] || continue
    remove_file "$f"
  done
}

# Temp files of this install left by a SIGKILL (the trap cannot run then); one pod per node and install.
sweep() {
  for t in "$CERTS_DIR"/*/.hosts.toml."$INSTALL".*; do
    [ -e "$t" ] || continue
    rm -f "$t"
  done
}

case $MODE in
  once) sync_all ;;
  remove) sweep; remove_all ;;
  run)
    sweep
    SLEEPER=''
    trap 'cleanup; remove_all; [ -z "$SLEEPER" ] || kill "$SLEEPER" 2>/dev/null || true; exit 0' TERM INT HUP
    while :; do
      sync_all
      sleep "$INTERVAL" &
      SLEEPER=$!
      wait "$SLEEPER" || true
    done
    ;;
esac

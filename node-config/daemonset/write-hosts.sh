#!/bin/sh
# Writes containerd's registry host configuration for the pull-through cache on this node, keeps it in place, and
# removes it on SIGTERM (DaemonSet deleted, pod evicted or rolled). POSIX sh + sed: runs in busybox, and the e2e tests
# run this same script to configure their containerd (test/e2e/node-mirror.test.ts).
#
#   write-hosts.sh [run|once|remove]     run (default): write, re-check every INTERVAL s, remove on TERM/INT
#                                        once: write and exit; remove: remove what we wrote and exit
#
# Env (exit 2 with one line on a bad value):
#   ECR_HOSTS        space-separated registry hosts to mirror, e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com"
#   MIRROR           the cache as the node reaches it, e.g. "http://localhost:30008"; {{HOST_IP}} in it stands for
#                    the node's IP (HOST_IP, from the pod's status.hostIP) where localhost:<NodePort> does not answer:
#                    "http://{{HOST_IP}}:30008", or "http://[{{HOST_IP}}]:30008" on IPv6 (docs/nodes.md)
#   CERTS_DIR        containerd's config_path (default /host/certs.d, the hostPath mount of /etc/containerd/certs.d)
#   TEMPLATE         hosts.toml template (default: hosts.toml.tpl beside this script)
#   DIAL_TIMEOUT     how long containerd waits to connect to the mirror before falling back (default 1s)
#   INTERVAL         seconds between checks (default 60)
#
# Never fights other writers: a hosts.toml whose first line is not our marker is left alone (and said so once per
# change), other files in a host directory are never touched, and a host directory is removed only when empty.
set -eu

MARKER='# managed-by: ecr-pull-through-cache node-config'
CERTS_DIR=${CERTS_DIR:-/host/certs.d}
TEMPLATE=${TEMPLATE:-$(dirname "$0")/hosts.toml.tpl}
DIAL_TIMEOUT=${DIAL_TIMEOUT:-1s}
INTERVAL=${INTERVAL:-60}
MODE=${1:-run}
SAID=' ' # hosts already reported as someone else's, so the loop says it once

log() { printf 'write-hosts: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }
matches() { printf '%s' "$1" | grep -Eq "$2"; }

[ -n "${ECR_HOSTS:-}" ] || die "ECR_HOSTS is empty: set it to the registry host(s) to mirror, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com"
for h in $ECR_HOSTS; do
  matches "$h" '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$' || die "ECR_HOSTS: '$h' is not a registry host name (host or host:port)"
done
case "${MIRROR:-}" in
  *'{{HOST_IP}}'*)
    matches "${HOST_IP:-}" '^[0-9A-Fa-f:.]+$' || die "MIRROR uses {{HOST_IP}} but HOST_IP='${HOST_IP:-}' is not an IP address (set it from status.hostIP)"
    MIRROR=$(printf '%s' "$MIRROR" | sed "s|{{HOST_IP}}|$HOST_IP|g")
    ;;
esac
matches "${MIRROR:-}" '^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$' ||
  die "MIRROR='${MIRROR:-}' is not http(s)://host[:port] (IPv6 in brackets), e.g. http://localhost:30008"
matches "$DIAL_TIMEOUT" '^[0-9]+(ms|s)$' || die "DIAL_TIMEOUT='$DIAL_TIMEOUT' is not a duration like 1s or 500ms"
matches "$INTERVAL" '^[1-9][0-9]*$' || die "INTERVAL='$INTERVAL' is not a positive number of seconds"
[ -r "$TEMPLATE" ] || die "TEMPLATE '$TEMPLATE' cannot be read"
# Without the marker first, the files written would never be recognised as ours again (nor removed).
[ "$(head -n 1 "$TEMPLATE")" = "$MARKER" ] || die "TEMPLATE '$TEMPLATE' does not start with the line '$MARKER'"
[ -d "$CERTS_DIR" ] || die "CERTS_DIR '$CERTS_DIR' is not a directory: mount containerd's config_path (/etc/containerd/certs.d) there"
case "$MODE" in run|once|remove) ;; *) die "unknown mode '$MODE': run, once or remove" ;; esac

# True when the file's first line is our marker: only then is it ours to replace or remove.
ours() {
  first=''
  IFS= read -r first < "$1" || true
  [ "$first" = "$MARKER" ]
}

# Values are validated above, so none holds sed's | or & or a newline.
render() {
  sed -e "s|{{SERVER}}|https://$1|g" -e "s|{{MIRROR}}|$MIRROR|g" -e "s|{{DIAL_TIMEOUT}}|$DIAL_TIMEOUT|g" "$TEMPLATE"
}

write_host() {
  dir=$CERTS_DIR/$1
  file=$dir/hosts.toml
  if [ -e "$file" ] && ! ours "$file"; then
    case "$SAID" in *" $1 "*) ;; *) log "left alone: $file was written by someone else"; SAID="$SAID $1 " ;; esac
    return 0
  fi
  [ -d "$dir" ] || mkdir -m 0755 "$dir"
  tmp=$dir/.hosts.toml.ecr-pull-through-cache.$$
  render "$1" > "$tmp"
  chmod 0644 "$tmp"
  if [ -e "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 0
  fi
  # Checked again right before the rename: another writer may have arrived since the first look.
  if [ -e "$file" ] && ! ours "$file"; then
    rm -f "$tmp"
    log "left alone: $file was written by someone else"
    return 0
  fi
  mv -f "$tmp" "$file"
  log "wrote $file (mirror $MIRROR, fallback https://$1)"
}

remove_file() {
  if [ -e "$1" ] && ours "$1"; then
    rm -f "$1"
    rmdir "$(dirname "$1")" 2>/dev/null || true # only if empty: other files there are someone else's
    log "removed $1"
  fi
}

wanted() {
  for h in $ECR_HOSTS; do [ "$h" = "$1" ] && return 0; done
  return 1
}

sync_all() {
  for h in $ECR_HOSTS; do write_host "$h"; done
  # A host dropped from ECR_HOSTS: remove the file we wrote for it earlier.
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

case "$MODE" in
  once) sync_all ;;
  remove) remove_all ;;
  run)
    trap 'remove_all; exit 0' TERM INT
    while :; do
      sync_all
      sleep "$INTERVAL" &
      wait $! || true
    done
    ;;
esac

# managed-by: ecr-pull-through-cache node-config install={{INSTALL}}
# Removed again when that install is uninstalled; a hosts.toml without the line above first belongs to someone else
# and is never touched. containerd tries the mirror first (pulls and tag resolution) and falls back to `server`, ECR
# itself with the kubelet's ECR credentials, when the mirror refuses the connection, does not connect within
# dial_timeout, or answers an error status. It does NOT fall back from a mirror that hangs, dribbles, cuts a blob
# short or serves wrong bytes; and whatever answers on the mirror address is trusted with tags and, if it asks, with
# the kubelet's ECR token: reserve that port for the cache (docs/nodes.md).
server = "{{SERVER}}"

[host."{{MIRROR}}"]
  capabilities = ["pull", "resolve"]
  dial_timeout = "{{DIAL_TIMEOUT}}"

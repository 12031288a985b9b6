# managed-by: ecr-pull-through-cache node-config
# Removed again when that is uninstalled; a hosts.toml without the line above first belongs to someone else and is
# never touched. containerd tries the mirror first (pulls and tag resolution) and falls back to `server`, ECR itself
# with the kubelet's ECR credentials, when the mirror refuses the connection, does not connect within dial_timeout,
# or answers an error status. A mirror that accepts and then never answers is NOT fallen back from: docs/nodes.md.
server = "{{SERVER}}"

[host."{{MIRROR}}"]
  capabilities = ["pull", "resolve"]
  dial_timeout = "{{DIAL_TIMEOUT}}"

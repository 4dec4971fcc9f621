#!/bin/bash
# Roll a new haproxy.cfg out to this VM (components/cluster/haproxyRollout.ts).
set -euo pipefail
# On a new VM, user data installs haproxy first; its result does not matter here.
cloud-init status --wait >/dev/null 2>&1 || true
cat >/usr/local/sbin/haproxy-apply <<'HAPROXY_APPLY_EOF'
# @include haproxy-apply.sh
HAPROXY_APPLY_EOF
chmod 0755 /usr/local/sbin/haproxy-apply
cat >/etc/haproxy/haproxy.cfg.tmpl <<'HAPROXY_CFG_EOF'
# @include haproxy.cfg
HAPROXY_CFG_EOF
exec /usr/local/sbin/haproxy-apply /etc/haproxy/haproxy.cfg.tmpl

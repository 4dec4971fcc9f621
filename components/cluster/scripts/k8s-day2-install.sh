#!/usr/bin/env bash
# k8s-day2-install: the worker token, etcd backup and certificate renewal timers of this master. Rendered by Pulumi.
set -euo pipefail
DESTDIR=${DESTDIR:-}
# @include files

#!/usr/bin/env bash
# Installs versitygw (Apache-2.0, an S3 gateway over a POSIX folder) from the
# Go module proxy into $(go env GOPATH)/bin, unless that version is there.
# Cold caches: about 4-5 minutes on 2 cores.
set -euo pipefail
VGW_VERSION="${VGW_VERSION:-v1.8.0}"
bin="$(go env GOBIN)"; [ -n "$bin" ] || bin="$(go env GOPATH)/bin"
if [ -x "$bin/versitygw" ] && go version -m "$bin/versitygw" 2>/dev/null |
     grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$VGW_VERSION[[:space:]]"; then
  echo "versitygw $VGW_VERSION already in $bin"
  exit 0
fi
go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VGW_VERSION"
echo "installed $bin/versitygw"

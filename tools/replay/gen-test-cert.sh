#!/bin/sh
# SPDX-License-Identifier: MIT
# Generate a throwaway self-signed certificate and key for `tickgate-replay serve --tls`
# (CN and subjectAltName 127.0.0.1 + localhost, 2 days). Nothing here is secret: run it at test
# time into a temporary directory; never commit its output.
# usage: gen-test-cert.sh DIR   -> DIR/cert.pem DIR/key.pem
set -eu
dir=${1:?usage: gen-test-cert.sh DIR}
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
chmod 600 "$dir/key.pem"
echo "$dir/cert.pem $dir/key.pem"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Throwaway certificates for test_it_tls_verify (made at test time, never committed):
#   DIR/good.pem  self-signed, localhost + 127.0.0.1, valid now      (trusted: connects)
#   DIR/other.pem self-signed for other.example only                  (trusted: name mismatch)
#   DIR/old.pem   self-signed for localhost, valid 2020-01-01 .. 01-02 (trusted: expired)
# each with its key DIR/<name>.key.  usage: tls_certs.sh DIR
set -eu
d=${1:?usage: tls_certs.sh DIR}
mkdir -p "$d"
mk() { # name cn san
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$2" -addext "subjectAltName=$3" -keyout "$d/$1.key" -out "$d/$1.pem" \
        >/dev/null 2>&1
}
mk good localhost "DNS:localhost,IP:127.0.0.1"
mk other other.example "DNS:other.example"
# expired: `openssl ca` is the 3.0 tool that sets explicit validity dates
mkdir -p "$d/ca"
: >"$d/ca/index.txt"
echo 01 >"$d/ca/serial"
cat >"$d/ca/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $d/ca/index.txt
new_certs_dir = $d/ca
serial = $d/ca/serial
default_md = sha256
policy = p
[p]
commonName = supplied
CNF
echo "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$d/ca/ext"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$d/old.key" -out "$d/ca/old.csr" >/dev/null 2>&1
openssl ca -batch -selfsign -config "$d/ca/ca.cnf" -keyfile "$d/old.key" -in "$d/ca/old.csr" \
    -out "$d/old.pem" -startdate 20200101000000Z -enddate 20200102000000Z \
    -extfile "$d/ca/ext" >/dev/null 2>&1
chmod 600 "$d"/*.key

#!/bin/sh
# mkcerts.sh OUTDIR: TLS material for the fake WeChat server (tests and dev mode).
#
# Creates with the openssl CLI:
#   ca.pem, ca.key          a test CA
#   server.pem, server.key  a server certificate for 127.0.0.1 and localhost, signed by the CA
#   other-ca.pem            an unrelated CA, for "a server signed by another CA is refused" tests
# Idempotent: does nothing while OUTDIR/server.pem is valid for at least one more day.
# Quiet on success; on failure prints openssl's messages and exits non-zero.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
umask 077                      # the private keys
mkdir -p "$out"

up_to_date() {
    for f in ca.pem ca.key server.pem server.key other-ca.pem; do
        [ -s "$out/$f" ] || return 1
    done
    openssl x509 -in "$out/server.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
        openssl verify -CAfile "$out/ca.pem" "$out/server.pem" >/dev/null 2>&1
}

up_to_date && exit 0

# Serialise concurrent runs on the same OUTDIR (mkdir is atomic), so that ca.pem and
# server.pem always come from the same run. A lock older than 2 minutes is stale.
lock=$out/.mkcerts.lock
tries=0
until mkdir "$lock" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 1200 ]; then
        rmdir "$lock" 2>/dev/null || true
        tries=0
    fi
    sleep 0.1
done
work=$(mktemp -d "$out/.mkcerts.XXXXXX")
trap 'rm -rf "$work"; rmdir "$lock" 2>/dev/null || true' EXIT INT TERM

up_to_date && exit 0           # another run finished while we waited

# Our own config, so the system openssl.cnf adds nothing unexpected.
cat >"$work/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

run() {
    if ! "$@" >>"$work/log" 2>&1; then
        echo "mkcerts.sh: failed: $*" >&2
        cat "$work/log" >&2
        exit 1
    fi
}

# A self-signed CA: mkca NAME COMMON_NAME
mkca() {
    run openssl req -config "$work/openssl.cnf" -x509 -new -nodes \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$work/$1.key" -out "$work/$1.pem" -days 3650 \
        -subj "/CN=$2" -extensions ca_ext
}

mkca ca "wxauth fakewx test CA"
mkca other-ca "wxauth unrelated test CA"

run openssl req -config "$work/openssl.cnf" -new -nodes \
    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=127.0.0.1"
run openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 \
    -extfile "$work/openssl.cnf" -extensions server_ext -out "$work/server.pem"
run openssl verify -CAfile "$work/ca.pem" "$work/server.pem"

chmod 644 "$work/ca.pem" "$work/server.pem" "$work/other-ca.pem"
# server.pem last: its presence means the set is complete.
for f in ca.key ca.pem other-ca.pem server.key server.pem; do
    mv -f "$work/$f" "$out/$f"
done

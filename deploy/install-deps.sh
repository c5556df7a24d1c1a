#!/bin/sh
# Installs the Debian 12 packages wxauth needs to build, run and test,
# and only those that are missing. Called by `make run` and `make test`.
set -eu

PKGS="build-essential pkg-config ca-certificates openssl curl clang libclang-rt-14-dev \
libfcgi-dev libfcgi-bin libpq-dev libcurl4-openssl-dev libjson-c-dev libmbedtls-dev \
postgresql postgresql-client lighttpd apache2 nginx-light pgbouncer spawn-fcgi multiwatch \
python3 procps util-linux systemd valgrind wrk gnuplot-nox nodejs docker-compose"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# lighttpd and postgresql would start system services; we run our own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2

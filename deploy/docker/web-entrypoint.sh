#!/bin/sh
# The web container: lighttpd from the project's template, listening on all
# of the container's addresses, in front of the pool's socket on the shared
# volume.
set -eu
d=/var/lib/wxauth-web
sed -e "s|@BIND@|0.0.0.0|" -e "s|@PORT@|${PORT:-8080}|" \
    -e "s|@SOCKET@|${WXAUTH_SOCKET:-/run/wxauth/wxauth.sock}|" \
    -e "s|@STATE@|$d|" -e "s|@ERRDIR@|/usr/share/wxauth/errors|" -e "s|@USERLINE@||" \
    /usr/share/wxauth/lighttpd/wxauth.conf.in > $d/lighttpd.conf
# errors to the container's log
sed -i 's|^server.errorlog .*|server.errorlog = "/dev/stderr"|' $d/lighttpd.conf
exec lighttpd -D -f $d/lighttpd.conf

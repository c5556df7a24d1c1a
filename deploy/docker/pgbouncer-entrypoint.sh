#!/bin/sh
# The pgbouncer container (compose profile "pgbouncer"): transaction pooling
# in front of the db service.  The pool's DATABASE_URL then names this host;
# wxauth needs nothing else (its refresh lock is transaction-scoped and it
# keeps no session state on a connection).
set -eu
d=/var/lib/wxauth-pgbouncer
pw=$(cat /run/secrets/db_password)
printf '"%s" "%s"\n' "${PGBOUNCER_USER:-wxauth}" "$pw" > $d/userlist.txt
cat > $d/pgbouncer.ini <<INI
[databases]
* = host=${PGBOUNCER_DB_HOST:-db} port=5432

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $d/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = ${PGBOUNCER_POOL_SIZE:-20}
server_login_retry = 1
query_wait_timeout = 5
INI
exec pgbouncer $d/pgbouncer.ini

#!/bin/sh
# Make the secret files the compose file mounts, once: a random database
# password (and the URL that carries it), a data key, and a placeholder for
# the app secret that you replace with your own.  Files are 0600; nothing
# is overwritten.
set -eu
cd "$(dirname "$0")"
mkdir -p secrets
umask 077
new() { [ -e "secrets/$1" ] || { printf '%s\n' "$2" > "secrets/$1"; echo "made secrets/$1"; }; }
pw=$(openssl rand -hex 24)
new db_password "$pw"
new database_url "postgresql://wxauth:$(cat secrets/db_password)@db:5432/wxauth"
new database_url_pgbouncer "postgresql://wxauth:$(cat secrets/db_password)@pgbouncer:6432/wxauth"
new data_key "$(openssl rand -base64 32)"
new wx_secret "replace-with-your-app-secret"
# Compose mounts these files as they are: the containers' users (group
# wxauth, gid 10001) must be able to read them.
if [ "$(id -u)" -eq 0 ]; then
	chgrp 10001 secrets/* && chmod 0640 secrets/*
else
	echo "make-secrets: run as root (or chgrp 10001 secrets/*; chmod 0640 secrets/*)" >&2
fi

/*
 * config.h -- the worker's configuration, read once from the environment.
 *
 * config_load() reads every variable of the table in config.c, checks each
 * against its type and bounds, and fills an immutable struct config.  A bad
 * value names the variable in the error text; the program then exits before
 * serving.  Nothing else in wxauth calls getenv().
 */
#ifndef WXAUTH_CONFIG_H
#define WXAUTH_CONFIG_H

#include <stddef.h>

#include "db.h"
#include "limit.h"
#include "log.h"
#include "seal.h"

struct config {
	char		*wx_appid;	/* WX_APPID */
	char		*wx_secret;	/* WX_SECRET or the content of WX_SECRET_FILE */
	char		*wx_api_base;	/* WX_API_BASE, no trailing slash */
	char		*wx_ca_file;	/* WX_CA_FILE or NULL (system CAs) */
	char		*database_url;	/* DATABASE_URL */
	long		 session_ttl;	/* WXAUTH_SESSION_TTL, seconds */
	long		 session_idle;	/* WXAUTH_SESSION_IDLE, seconds */
	long		 wx_timeout_ms;	/* WX_TIMEOUT_MS */
	long		 threads;	/* WXAUTH_THREADS: requests in flight per process */
	long		 db_pool;	/* WXAUTH_DB_POOL: connections per process */
	long		 db_wait_ms;	/* WXAUTH_DB_WAIT_MS: wait for a free connection */
	long		 db_timeout_ms;	/* WXAUTH_DB_TIMEOUT_MS: longest statement */
	enum db_prepare	 db_prepare;	/* WXAUTH_DB_PREPARE */
	enum log_level	 log_level;	/* WXAUTH_LOG_LEVEL */
	long		 max_requests;	/* WXAUTH_MAX_REQUESTS: recycle after; 0 never */
	long		 limit[LIMIT__MAX]; /* WXAUTH_LIMIT_*; 0: off */
	char		*trusted_proxies; /* WXAUTH_TRUSTED_PROXIES or NULL */
	long		 purge_interval; /* WXAUTH_PURGE_INTERVAL, seconds; 0 off */
	int		 wx_allow_http;	/* derived: WX_API_BASE is http on loopback */
	struct keyring	 keys;		/* WXAUTH_DATA_KEY(_FILE), WXAUTH_DATA_KEYS_OLD */
};

/* Where config_load() reads variables from; getenv() in the program. */
typedef const char *(*config_getter)(const char *name, void *arg);

/* What config_load() reads: everything, or what `wxauth migrate` needs. */
enum config_scope {
	CONFIG_WORKER,
	CONFIG_MIGRATE,	/* DATABASE_URL and WXAUTH_LOG_LEVEL only */
};

/*
 * Fill cfg from get.  Returns 0, or -1 with a message naming the variable
 * in err (size errsz).  On failure cfg holds nothing to free.
 */
int	config_load(struct config *cfg, enum config_scope scope,
	    config_getter get, void *arg, char *err, size_t errsz);

/* Free what config_load() allocated. */
void	config_free(struct config *);

/*
 * Seconds between two updates of a session's last-seen time: reads do not
 * write more often than this (60 s, less for short idle timeouts).
 */
long	config_touch_interval(const struct config *);

#endif

/*
 * config.c -- the configuration table and its loader (see config.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "parse.h"

enum cfg_type {
	CFG_STR,	/* printable ASCII without spaces, 1..max bytes */
	CFG_CONNINFO,	/* printable ASCII, spaces allowed, 1..max bytes */
	CFG_INT,	/* decimal integer in [min, max] */
	CFG_PATH,	/* a readable file */
	CFG_URL,	/* WeChat API base URL */
	CFG_LOGLEVEL,
	CFG_DBPREPARE,	/* auto, on or off (db.h) */
};

struct cfg_var {
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;		/* offset in struct config */
	long		 min, max;	/* bounds: value (INT) or length (STR) */
	const char	*def;		/* default, NULL: required or absent */
	int		 required;
};

#define OFF(f)	offsetof(struct config, f)

static const struct cfg_var vars[] = {
	{ "WX_APPID", CFG_STR, OFF(wx_appid), 1, 64, NULL, 1 },
	{ "WX_API_BASE", CFG_URL, OFF(wx_api_base), 1, 512,
	    "https://api.weixin.qq.com", 1 },
	{ "WX_CA_FILE", CFG_PATH, OFF(wx_ca_file), 1, 4096, NULL, 0 },
	/* Or DATABASE_URL_FILE (a URI holding a password): load_database_url(). */
	{ "DATABASE_URL", CFG_CONNINFO, OFF(database_url), 1, 4096, NULL, 0 },
	{ "WXAUTH_SESSION_TTL", CFG_INT, OFF(session_ttl), 1, 31536000,
	    "604800", 1 },
	{ "WXAUTH_SESSION_IDLE", CFG_INT, OFF(session_idle), 1, 31536000,
	    "86400", 1 },
	/* At most 25 s: the web server gives a request 30 s (read-timeout). */
	{ "WX_TIMEOUT_MS", CFG_INT, OFF(wx_timeout_ms), 100, 25000,
	    "5000", 1 },
	{ "WXAUTH_THREADS", CFG_INT, OFF(threads), 1, 1024, "256", 1 },
	{ "WXAUTH_DB_POOL", CFG_INT, OFF(db_pool), 1, 64, "4", 1 },
	{ "WXAUTH_DB_WAIT_MS", CFG_INT, OFF(db_wait_ms), 10, 60000,
	    "3000", 1 },
	{ "WXAUTH_DB_TIMEOUT_MS", CFG_INT, OFF(db_timeout_ms), 100, 60000,
	    "3000", 1 },
	{ "WXAUTH_DB_PREPARE", CFG_DBPREPARE, OFF(db_prepare), 0, 0, "auto", 1 },
	{ "WXAUTH_LOG_LEVEL", CFG_LOGLEVEL, OFF(log_level), 0, 0, "info", 1 },
	/* The API's rate limits (lib/limit.h); 0 disables one. */
	{ "WXAUTH_LIMIT_LOGIN_IP", CFG_INT, OFF(limit[LIMIT_LOGIN_IP]), 0,
	    100000000, "600", 1 },
	{ "WXAUTH_LIMIT_LOGIN_USER", CFG_INT, OFF(limit[LIMIT_LOGIN_USER]), 0,
	    100000000, "30", 1 },
	{ "WXAUTH_LIMIT_PHONE_USER", CFG_INT, OFF(limit[LIMIT_PHONE_USER]), 0,
	    100000000, "10", 1 },
	{ "WXAUTH_LIMIT_DECRYPT_FAIL", CFG_INT, OFF(limit[LIMIT_DECRYPT_FAIL]),
	    0, 100000000, "20", 1 },
	/* Proxies whose X-Forwarded-For is believed: exact addresses. */
	{ "WXAUTH_TRUSTED_PROXIES", CFG_STR, OFF(trusted_proxies), 1, 1024,
	    NULL, 0 },
	/* Seconds between purges of expired sessions and old counters; 0: off. */
	{ "WXAUTH_PURGE_INTERVAL", CFG_INT, OFF(purge_interval), 0, 86400,
	    "600", 1 },
	/* 0: never.  Each worker recycles after this many requests (+ up to 10%). */
	{ "WXAUTH_MAX_REQUESTS", CFG_INT, OFF(max_requests), 0, 1000000000,
	    "0", 1 },
};

#define SECRET_MAX	256	/* WeChat secrets are 32 hex digits */

/* Is s 1..max printable ASCII bytes (spaces only if spaces is set)? */
static int
printable_sp(const char *s, size_t max, int spaces)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (*s < ' ' || *s >= 0x7f || (*s == ' ' && !spaces))
			return 0;
	return n >= 1 && n <= max;
}

static int
printable(const char *s, size_t max)
{
	return printable_sp(s, max, 0);
}

/*
 * Check a WeChat API base URL: https, or plain http to a loopback host (the
 * development fake).  Sets *http when it is the latter.
 */
static int
check_url(const char *s, int *http)
{
	const char	*host, *end;
	size_t		 hl;

	*http = 0;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0) {
		host = s + 7;
		*http = 1;
	} else
		return -1;
	/* No userinfo: "http://localhost@evil.com" must not pass as loopback. */
	if (memchr(host, '@', strcspn(host, "/?#")) != NULL)
		return -1;
	if (*host == '[')
		end = strchr(host, ']') != NULL ? strchr(host, ']') + 1 : NULL;
	else
		end = host + strcspn(host, ":/");
	if (end == NULL || end == host)
		return -1;
	hl = (size_t)(end - host);
	if (*http && !((hl == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
	    (hl == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (hl == 5 && strncmp(host, "[::1]", 5) == 0)))
		return -1;
	return 0;
}

/* Read a secret from a file: at most SECRET_MAX bytes, one line. */
static char *
read_secret(const char *path)
{
	char	 b[SECRET_MAX + 2];
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	while (len < sizeof(b) - 1) {
		n = read(fd, b + len, sizeof(b) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	b[len] = '\0';
	while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == '\r'))
		b[--len] = '\0';
	if (!printable(b, SECRET_MAX))
		return NULL;
	return strdup(b);
}

/*
 * A secret given either as the variable name or in the file named by
 * name_FILE (one line), not both.  *out is NULL when neither is given.
 */
static int
load_secret(const char *name, config_getter get, void *arg, char **out,
    char *err, size_t errsz)
{
	char		 fname[64];
	const char	*s, *f;

	*out = NULL;
	snprintf(fname, sizeof(fname), "%s_FILE", name);
	s = get(name, arg);
	f = get(fname, arg);
	if (s != NULL && *s == '\0')
		s = NULL;
	if (f != NULL && *f == '\0')
		f = NULL;
	if (s != NULL && f != NULL) {
		snprintf(err, errsz, "%s and %s are both set: give one", name,
		    fname);
		return -1;
	}
	if (s != NULL) {
		if (!printable(s, SECRET_MAX)) {
			snprintf(err, errsz, "%s: must be 1-%d printable "
			    "characters", name, SECRET_MAX);
			return -1;
		}
		if ((*out = strdup(s)) == NULL)
			abort();
	} else if (f != NULL && (*out = read_secret(f)) == NULL) {
		snprintf(err, errsz, "%s: cannot read a secret (one line of "
		    "1-%d printable characters) from it", fname, SECRET_MAX);
		return -1;
	}
	return 0;
}

/*
 * DATABASE_URL, or DATABASE_URL_FILE: a file holding it (one line, a URI
 * without spaces), for a connection string that carries a password.
 */
static int
load_database_url(struct config *cfg, config_getter get, void *arg, char *err,
    size_t errsz)
{
	const char	*f = get("DATABASE_URL_FILE", arg);

	if (f != NULL && *f == '\0')
		f = NULL;
	if (cfg->database_url != NULL && f != NULL) {
		snprintf(err, errsz, "DATABASE_URL and DATABASE_URL_FILE are both "
		    "set: give one");
		return -1;
	}
	if (cfg->database_url != NULL)
		return 0;
	if (f == NULL) {
		snprintf(err, errsz, "DATABASE_URL (or DATABASE_URL_FILE) is "
		    "required");
		return -1;
	}
	if ((cfg->database_url = read_secret(f)) == NULL) {
		snprintf(err, errsz, "DATABASE_URL_FILE: cannot read a connection "
		    "URI (one line of 1-%d printable characters) from it",
		    SECRET_MAX);
		return -1;
	}
	return 0;
}

/* The app secret, and the key ring for secrets at rest (seal.h). */
static int
load_secrets(struct config *cfg, config_getter get, void *arg, char *err,
    size_t errsz)
{
	char		*key = NULL;
	const char	*old;
	int		 rc;

	if (load_secret("WX_SECRET", get, arg, &cfg->wx_secret, err,
	    errsz) == -1)
		return -1;
	if (cfg->wx_secret == NULL) {
		snprintf(err, errsz, "WX_SECRET (or WX_SECRET_FILE) is required");
		return -1;
	}
	if (load_secret("WXAUTH_DATA_KEY", get, arg, &key, err, errsz) == -1)
		return -1;
	if (key == NULL) {
		snprintf(err, errsz, "WXAUTH_DATA_KEY (or WXAUTH_DATA_KEY_FILE) "
		    "is required: the key that encrypts session keys at rest, "
		    "32 bytes as base64 (`openssl rand -base64 32`)");
		return -1;
	}
	old = get("WXAUTH_DATA_KEYS_OLD", arg);
	rc = keyring_init(&cfg->keys, key, old, err, errsz);
	memset(key, 0, strlen(key));
	free(key);
	return rc;
}

int
config_load(struct config *cfg, enum config_scope scope, config_getter get,
    void *arg, char *err, size_t errsz)
{
	const struct cfg_var	*v;
	const char		*s;
	char			**sp;
	long			 l;
	size_t			 i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		v = &vars[i];
		if (scope == CONFIG_MIGRATE && v->off != OFF(database_url) &&
		    v->off != OFF(log_level))
			continue;
		s = get(v->name, arg);
		if (s == NULL || *s == '\0')
			s = v->def;
		if (s == NULL) {
			if (!v->required)
				continue;
			snprintf(err, errsz, "%s is required", v->name);
			goto fail;
		}
		sp = (char **)(void *)((char *)cfg + v->off);
		switch (v->type) {
		case CFG_INT:
			if (parse_long(s, v->min, v->max, &l) == -1) {
				snprintf(err, errsz, "%s: must be an integer "
				    "from %ld to %ld", v->name, v->min, v->max);
				goto fail;
			}
			*(long *)(void *)((char *)cfg + v->off) = l;
			continue;
		case CFG_LOGLEVEL:
			if (log_level_parse(s, (enum log_level *)(void *)
			    ((char *)cfg + v->off)) == -1) {
				snprintf(err, errsz, "%s: must be debug, info, "
				    "warn or error", v->name);
				goto fail;
			}
			continue;
		case CFG_DBPREPARE:
			if (db_prepare_parse(s, (enum db_prepare *)(void *)
			    ((char *)cfg + v->off)) == -1) {
				snprintf(err, errsz, "%s: must be auto, on or "
				    "off", v->name);
				goto fail;
			}
			continue;
		case CFG_STR:
			if (!printable(s, (size_t)v->max)) {
				snprintf(err, errsz, "%s: must be 1-%ld printable "
				    "characters without spaces", v->name, v->max);
				goto fail;
			}
			break;
		case CFG_CONNINFO:
			if (!printable_sp(s, (size_t)v->max, 1)) {
				snprintf(err, errsz, "%s: must be 1-%ld printable "
				    "characters", v->name, v->max);
				goto fail;
			}
			break;
		case CFG_PATH:
			if (strlen(s) > (size_t)v->max ||
			    access(s, R_OK) == -1) {
				snprintf(err, errsz, "%s: cannot read the file",
				    v->name);
				goto fail;
			}
			break;
		case CFG_URL:
			if (!printable(s, (size_t)v->max) ||
			    check_url(s, &cfg->wx_allow_http) == -1) {
				snprintf(err, errsz, "%s: must be an https:// URL "
				    "(http:// only to 127.0.0.1, localhost or "
				    "[::1])", v->name);
				goto fail;
			}
			break;
		}
		if ((*sp = strdup(s)) == NULL)
			abort();
	}
	if (load_database_url(cfg, get, arg, err, errsz) == -1)
		goto fail;
	if (scope == CONFIG_MIGRATE)
		return 0;
	l = (long)strlen(cfg->wx_api_base);
	while (l > 0 && cfg->wx_api_base[l - 1] == '/')
		cfg->wx_api_base[--l] = '\0';
	if (load_secrets(cfg, get, arg, err, errsz) == -1)
		goto fail;
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void
config_free(struct config *cfg)
{
	free(cfg->wx_appid);
	if (cfg->wx_secret != NULL)
		memset(cfg->wx_secret, 0, strlen(cfg->wx_secret));
	free(cfg->wx_secret);
	keyring_wipe(&cfg->keys);
	free(cfg->wx_api_base);
	free(cfg->wx_ca_file);
	free(cfg->trusted_proxies);
	if (cfg->database_url != NULL)
		memset(cfg->database_url, 0, strlen(cfg->database_url));
	free(cfg->database_url);
	memset(cfg, 0, sizeof(*cfg));
}

long
config_touch_interval(const struct config *cfg)
{
	if (cfg->session_idle >= 600)
		return 60;
	return cfg->session_idle / 10;
}

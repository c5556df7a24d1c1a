/*
 * test_config.c -- config_load over a table of variables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "check.h"
#include "config.h"

#define MAXV	24
/* 32 zero bytes, and 0..31: their ids are the first 4 bytes of SHA-256. */
#define KEY0	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define KEY0_ID	"1615ce58"
#define KEY1	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY1_ID	"50d3dfcc"

struct env {
	const char	*name[MAXV];
	const char	*val[MAXV];
	int		 n;
	int		 asked_secret;	/* WX_SECRET or WX_APPID was read */
};

static const char *
get(const char *name, void *arg)
{
	struct env	*e = arg;
	int		 i;

	if (strcmp(name, "WX_SECRET") == 0 || strcmp(name, "WX_APPID") == 0 ||
	    strcmp(name, "WX_SECRET_FILE") == 0)
		e->asked_secret = 1;
	for (i = 0; i < e->n; i++)
		if (strcmp(e->name[i], name) == 0)
			return e->val[i];
	return NULL;
}

static void
set(struct env *e, const char *name, const char *val)
{
	int	 i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->name[i], name) == 0) {
			e->val[i] = val;
			return;
		}
	if (e->n < MAXV) {
		e->name[e->n] = name;
		e->val[e->n++] = val;
	}
}

/* The minimal valid worker environment. */
static void
base(struct env *e)
{
	memset(e, 0, sizeof(*e));
	set(e, "WX_APPID", "wx1234567890abcdef");
	set(e, "WX_SECRET", "0123456789abcdef0123456789abcdef");
	set(e, "DATABASE_URL", "postgresql://u@localhost/wxauth");
	set(e, "WXAUTH_DATA_KEY", KEY0);
}

static struct config	 cfg;
static char		 err[256];

static int
load(struct env *e, enum config_scope scope)
{
	err[0] = '\0';
	return config_load(&cfg, scope, get, e, err, sizeof(err));
}

/* Fails, and err names the variable. */
static int
fails_naming(struct env *e, const char *var)
{
	int	 rc = load(e, CONFIG_WORKER);

	if (rc == 0)
		config_free(&cfg);
	return rc == -1 && strstr(err, var) != NULL;
}

static void
test_defaults(void)
{
	struct env	 e;

	base(&e);
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.wx_appid, "wx1234567890abcdef");
	CHECK_STR(cfg.wx_secret, "0123456789abcdef0123456789abcdef");
	CHECK_STR(cfg.database_url, "postgresql://u@localhost/wxauth");
	CHECK_STR(cfg.wx_api_base, "https://api.weixin.qq.com");
	CHECK(cfg.wx_ca_file == NULL);
	CHECK(cfg.session_ttl == 604800);
	CHECK(cfg.session_idle == 86400);
	CHECK(cfg.wx_timeout_ms == 5000);
	CHECK(cfg.threads == 256);
	CHECK(cfg.db_pool == 4);
	CHECK(cfg.db_wait_ms == 3000);
	CHECK(cfg.log_level == LOG_INFO);
	CHECK(cfg.wx_allow_http == 0);
	CHECK(config_touch_interval(&cfg) == 60);
	config_free(&cfg);
	CHECK(cfg.wx_appid == NULL && cfg.wx_secret == NULL);

	/* Empty means unset: the default applies. */
	base(&e);
	set(&e, "WXAUTH_THREADS", "");
	CHECK(load(&e, CONFIG_WORKER) == 0 && cfg.threads == 256);
	config_free(&cfg);
	base(&e);
	CHECK(load(&e, CONFIG_WORKER) == 0 &&
	    cfg.db_prepare == DB_PREPARE_AUTO);
	config_free(&cfg);

	/* Explicit values. */
	base(&e);
	set(&e, "WXAUTH_SESSION_TTL", "3600");
	set(&e, "WXAUTH_SESSION_IDLE", "1800");
	set(&e, "WX_TIMEOUT_MS", "100");
	set(&e, "WXAUTH_THREADS", "1024");
	set(&e, "WXAUTH_DB_POOL", "64");
	set(&e, "WXAUTH_DB_WAIT_MS", "10");
	set(&e, "WXAUTH_LOG_LEVEL", "debug");
	set(&e, "WXAUTH_DB_PREPARE", "off");
	set(&e, "DATABASE_URL", "host=db user=wx dbname=wxauth");
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK(cfg.db_prepare == DB_PREPARE_OFF);
	CHECK(cfg.session_ttl == 3600 && cfg.session_idle == 1800);
	CHECK(cfg.wx_timeout_ms == 100 && cfg.threads == 1024);
	CHECK(cfg.db_pool == 64 && cfg.db_wait_ms == 10);
	CHECK(cfg.log_level == LOG_DEBUG);
	CHECK_STR(cfg.database_url, "host=db user=wx dbname=wxauth");
	config_free(&cfg);
}

static void
test_errors(void)
{
	struct env	 e;

	/* Required ones missing. */
	base(&e);
	set(&e, "WX_APPID", NULL);
	CHECK(fails_naming(&e, "WX_APPID"));
	base(&e);
	set(&e, "WX_APPID", "");
	CHECK(fails_naming(&e, "WX_APPID"));
	base(&e);
	set(&e, "DATABASE_URL", NULL);
	CHECK(fails_naming(&e, "DATABASE_URL"));
	base(&e);
	set(&e, "WX_SECRET", NULL);
	CHECK(fails_naming(&e, "WX_SECRET"));
	/* cfg holds nothing after a failure. */
	CHECK(cfg.wx_appid == NULL && cfg.database_url == NULL &&
	    cfg.wx_api_base == NULL && cfg.wx_secret == NULL);

	/* Out of range or not integers. */
	base(&e);
	set(&e, "WXAUTH_THREADS", "0");
	CHECK(fails_naming(&e, "WXAUTH_THREADS"));
	base(&e);
	set(&e, "WXAUTH_THREADS", "1025");
	CHECK(fails_naming(&e, "WXAUTH_THREADS"));
	base(&e);
	set(&e, "WXAUTH_DB_POOL", "65");
	CHECK(fails_naming(&e, "WXAUTH_DB_POOL"));
	base(&e);
	set(&e, "WX_TIMEOUT_MS", "99");
	CHECK(fails_naming(&e, "WX_TIMEOUT_MS"));
	base(&e);
	set(&e, "WX_TIMEOUT_MS", "60001");
	CHECK(fails_naming(&e, "WX_TIMEOUT_MS"));
	base(&e);
	set(&e, "WXAUTH_SESSION_TTL", "-1");
	CHECK(fails_naming(&e, "WXAUTH_SESSION_TTL"));
	base(&e);
	set(&e, "WXAUTH_SESSION_IDLE", "1h");
	CHECK(fails_naming(&e, "WXAUTH_SESSION_IDLE"));
	base(&e);
	set(&e, "WXAUTH_DB_WAIT_MS", " 100");
	CHECK(fails_naming(&e, "WXAUTH_DB_WAIT_MS"));
	base(&e);
	set(&e, "WXAUTH_DB_WAIT_MS", "99999999999999999999");
	CHECK(fails_naming(&e, "WXAUTH_DB_WAIT_MS"));
	base(&e);
	set(&e, "WXAUTH_LOG_LEVEL", "verbose");
	CHECK(fails_naming(&e, "WXAUTH_LOG_LEVEL"));
	base(&e);
	set(&e, "WXAUTH_DB_PREPARE", "yes");
	CHECK(fails_naming(&e, "WXAUTH_DB_PREPARE"));
	base(&e);
	set(&e, "WXAUTH_DB_PREPARE", "ON");
	CHECK(fails_naming(&e, "WXAUTH_DB_PREPARE"));
	/* Strings: no spaces or control characters in an appid. */
	base(&e);
	set(&e, "WX_APPID", "wx 123");
	CHECK(fails_naming(&e, "WX_APPID"));
	base(&e);
	set(&e, "WX_APPID", "wx\n123");
	CHECK(fails_naming(&e, "WX_APPID"));
	base(&e);
	set(&e, "WX_SECRET", "sec ret");
	CHECK(fails_naming(&e, "WX_SECRET"));
	base(&e);
	set(&e, "DATABASE_URL", "host=db\nuser=x");
	CHECK(fails_naming(&e, "DATABASE_URL"));
	/* An unreadable CA file. */
	base(&e);
	set(&e, "WX_CA_FILE", "/nonexistent/ca.pem");
	CHECK(fails_naming(&e, "WX_CA_FILE"));
	base(&e);
	set(&e, "WX_CA_FILE", "/etc/hostname");
	if (access("/etc/hostname", R_OK) == 0) {
		CHECK(load(&e, CONFIG_WORKER) == 0);
		CHECK_STR(cfg.wx_ca_file, "/etc/hostname");
		config_free(&cfg);
	}
}

static void
test_url(void)
{
	struct env	 e;

	base(&e);
	set(&e, "WX_API_BASE", "https://api.weixin.qq.com");
	CHECK(load(&e, CONFIG_WORKER) == 0 && cfg.wx_allow_http == 0);
	CHECK_STR(cfg.wx_api_base, "https://api.weixin.qq.com");
	config_free(&cfg);

	base(&e);
	set(&e, "WX_API_BASE", "https://api.weixin.qq.com/");
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.wx_api_base, "https://api.weixin.qq.com");
	config_free(&cfg);

	base(&e);
	set(&e, "WX_API_BASE", "https://proxy.example.com/wx///");
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.wx_api_base, "https://proxy.example.com/wx");
	config_free(&cfg);

	base(&e);
	set(&e, "WX_API_BASE", "http://127.0.0.1:8080");
	CHECK(load(&e, CONFIG_WORKER) == 0 && cfg.wx_allow_http == 1);
	CHECK_STR(cfg.wx_api_base, "http://127.0.0.1:8080");
	config_free(&cfg);

	base(&e);
	set(&e, "WX_API_BASE", "http://localhost:9000/");
	CHECK(load(&e, CONFIG_WORKER) == 0 && cfg.wx_allow_http == 1);
	CHECK_STR(cfg.wx_api_base, "http://localhost:9000");
	config_free(&cfg);

	base(&e);
	set(&e, "WX_API_BASE", "http://[::1]:8080");
	CHECK(load(&e, CONFIG_WORKER) == 0 && cfg.wx_allow_http == 1);
	config_free(&cfg);

	/* Plain http elsewhere, other schemes, lookalike hosts. */
	base(&e);
	set(&e, "WX_API_BASE", "http://example.com");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "http://api.weixin.qq.com");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "http://127.0.0.1.evil.com");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "http://localhost.evil.com:80");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "http://127.0.0.10");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "ftp://api.weixin.qq.com");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "api.weixin.qq.com");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "https://");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "https://api.weixin.qq.com/ x");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "http://localhost@evil.com");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	/* Userinfo is not taken for the host. */
	base(&e);
	set(&e, "WX_API_BASE", "http://localhost:x@evil.com");
	CHECK(fails_naming(&e, "WX_API_BASE"));
	base(&e);
	set(&e, "WX_API_BASE", "http://127.0.0.1:80@evil.com/");
	CHECK(fails_naming(&e, "WX_API_BASE"));
}

static void
test_secret(void)
{
	struct env	 e;
	char		 path[] = "/tmp/wxauth-test-secret-XXXXXX";
	char		 path2[] = "/tmp/wxauth-test-secret-XXXXXX";
	int		 fd;

	fd = mkstemp(path);
	CHECK(fd != -1);
	if (fd == -1)
		return;
	CHECK(write(fd, "filesecret123\n", 14) == 14);
	close(fd);

	/* Both set. */
	base(&e);
	set(&e, "WX_SECRET_FILE", path);
	CHECK(load(&e, CONFIG_WORKER) == -1);
	CHECK(strstr(err, "WX_SECRET") != NULL);
	CHECK(cfg.wx_appid == NULL && cfg.wx_secret == NULL);

	/* From the file, newline stripped. */
	base(&e);
	set(&e, "WX_SECRET", NULL);
	set(&e, "WX_SECRET_FILE", path);
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.wx_secret, "filesecret123");
	config_free(&cfg);
	/* An empty WX_SECRET counts as unset. */
	base(&e);
	set(&e, "WX_SECRET", "");
	set(&e, "WX_SECRET_FILE", path);
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.wx_secret, "filesecret123");
	config_free(&cfg);
	/* An unreadable file. */
	base(&e);
	set(&e, "WX_SECRET", NULL);
	set(&e, "WX_SECRET_FILE", "/nonexistent/secret");
	CHECK(fails_naming(&e, "WX_SECRET_FILE"));
	unlink(path);

	/* An empty file, and one with two lines. */
	fd = mkstemp(path2);
	CHECK(fd != -1);
	if (fd != -1) {
		close(fd);
		base(&e);
		set(&e, "WX_SECRET", NULL);
		set(&e, "WX_SECRET_FILE", path2);
		CHECK(fails_naming(&e, "WX_SECRET_FILE"));
		fd = open(path2, O_WRONLY | O_TRUNC);
		CHECK(fd != -1 && write(fd, "abc\ndef\n", 8) == 8);
		if (fd != -1)
			close(fd);
		CHECK(fails_naming(&e, "WX_SECRET_FILE"));
		unlink(path2);
	}
}

static void
test_data_key(void)
{
	struct env	 e;
	char		 path[] = "/tmp/wxauth-test-key-XXXXXX";
	int		 fd;

	base(&e);
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.keys.cur.id, KEY0_ID);
	CHECK(cfg.keys.nold == 0);
	config_free(&cfg);
	/* Required, outside dev mode too: the program refuses to start. */
	set(&e, "WXAUTH_DATA_KEY", NULL);
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEY"));
	/* Exactly 32 bytes of strict base64; the message quotes no key. */
	set(&e, "WXAUTH_DATA_KEY", "AAAAAAAAAAAAAAAAAAAAAA==");
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEY"));
	CHECK(strstr(err, "AAAAAAAA") == NULL);
	set(&e, "WXAUTH_DATA_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEY"));
	set(&e, "WXAUTH_DATA_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_");
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEY"));
	/* Old keys: decryption only, listed after the current one. */
	base(&e);
	set(&e, "WXAUTH_DATA_KEY", KEY1);
	set(&e, "WXAUTH_DATA_KEYS_OLD", KEY0);
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.keys.cur.id, KEY1_ID);
	CHECK(cfg.keys.nold == 1);
	CHECK_STR(cfg.keys.old[0].id, KEY0_ID);
	config_free(&cfg);
	CHECK(cfg.keys.nold == 0 && cfg.keys.cur.k[0] == 0);
	set(&e, "WXAUTH_DATA_KEYS_OLD", KEY0 ",," KEY0);
	CHECK(load(&e, CONFIG_WORKER) == 0 && cfg.keys.nold == 2);
	config_free(&cfg);
	set(&e, "WXAUTH_DATA_KEYS_OLD", KEY0 ",junk");
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEYS_OLD"));
	CHECK(strstr(err, "junk") == NULL);
	set(&e, "WXAUTH_DATA_KEYS_OLD", KEY1);
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEYS_OLD"));
	/* From a file; not both. */
	fd = mkstemp(path);
	CHECK(fd != -1);
	if (fd == -1)
		return;
	CHECK(write(fd, KEY1 "\n", sizeof(KEY1)) == (ssize_t)sizeof(KEY1));
	close(fd);
	base(&e);
	set(&e, "WXAUTH_DATA_KEY_FILE", path);
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEY"));
	set(&e, "WXAUTH_DATA_KEY", NULL);
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.keys.cur.id, KEY1_ID);
	config_free(&cfg);
	unlink(path);
	CHECK(fails_naming(&e, "WXAUTH_DATA_KEY_FILE"));
}

static void
test_database_url_file(void)
{
	struct env	 e;
	char		 path[] = "/tmp/wxauth-test-dburl-XXXXXX";
	int		 fd;

	base(&e);
	set(&e, "DATABASE_URL", NULL);
	CHECK(fails_naming(&e, "DATABASE_URL"));
	fd = mkstemp(path);
	CHECK(fd != -1);
	if (fd == -1)
		return;
	CHECK(write(fd, "postgresql://wx:pw@db/wxauth\n", 29) == 29);
	close(fd);
	set(&e, "DATABASE_URL_FILE", path);
	CHECK(load(&e, CONFIG_WORKER) == 0);
	CHECK_STR(cfg.database_url, "postgresql://wx:pw@db/wxauth");
	config_free(&cfg);
	CHECK(load(&e, CONFIG_MIGRATE) == 0);
	CHECK_STR(cfg.database_url, "postgresql://wx:pw@db/wxauth");
	config_free(&cfg);
	set(&e, "DATABASE_URL", "postgresql://u@localhost/wxauth");
	CHECK(fails_naming(&e, "DATABASE_URL_FILE"));
	CHECK(strstr(err, "pw") == NULL);
	unlink(path);
	set(&e, "DATABASE_URL", NULL);
	CHECK(fails_naming(&e, "DATABASE_URL_FILE"));
}

static void
test_migrate_scope(void)
{
	struct env	 e;

	memset(&e, 0, sizeof(e));
	set(&e, "DATABASE_URL", "postgresql:///wxauth");
	CHECK(load(&e, CONFIG_MIGRATE) == 0);
	CHECK_STR(cfg.database_url, "postgresql:///wxauth");
	CHECK(cfg.log_level == LOG_INFO);
	CHECK(cfg.wx_appid == NULL && cfg.wx_secret == NULL);
	CHECK(e.asked_secret == 0);
	config_free(&cfg);
	/* Worker-only variables are not even checked. */
	set(&e, "WXAUTH_THREADS", "bogus");
	set(&e, "WX_API_BASE", "http://example.com");
	set(&e, "WXAUTH_LOG_LEVEL", "warn");
	CHECK(load(&e, CONFIG_MIGRATE) == 0 && cfg.log_level == LOG_WARN);
	config_free(&cfg);
	/* But DATABASE_URL is still required, and the log level checked. */
	set(&e, "WXAUTH_LOG_LEVEL", "loud");
	CHECK(load(&e, CONFIG_MIGRATE) == -1 &&
	    strstr(err, "WXAUTH_LOG_LEVEL") != NULL);
	memset(&e, 0, sizeof(e));
	CHECK(load(&e, CONFIG_MIGRATE) == -1 &&
	    strstr(err, "DATABASE_URL") != NULL);
	/* The worker scope with the same environment fails. */
	memset(&e, 0, sizeof(e));
	set(&e, "DATABASE_URL", "postgresql:///wxauth");
	CHECK(load(&e, CONFIG_WORKER) == -1);
}

static void
test_touch_interval(void)
{
	struct config	 c;

	memset(&c, 0, sizeof(c));
	c.session_idle = 86400;
	CHECK(config_touch_interval(&c) == 60);
	c.session_idle = 600;
	CHECK(config_touch_interval(&c) == 60);
	c.session_idle = 300;
	CHECK(config_touch_interval(&c) == 30);
	c.session_idle = 599;
	CHECK(config_touch_interval(&c) < 60 && config_touch_interval(&c) > 0);
	c.session_idle = 60;
	CHECK(config_touch_interval(&c) < 60);
	CHECK(config_touch_interval(&c) < c.session_idle);
	c.session_idle = 1;
	CHECK(config_touch_interval(&c) == 0);
}

int
main(void)
{
	test_defaults();
	test_errors();
	test_url();
	test_secret();
	test_data_key();
	test_database_url_file();
	test_migrate_scope();
	test_touch_interval();
	return check_done("test_config");
}

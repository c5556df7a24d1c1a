/*
 * floor.c -- the least a FastCGI worker can do for each kind of request:
 * the floor `make bench` measures wxauth's endpoints against, under the
 * same pool (spawn-fcgi + multiwatch, deploy/pool/wxauth-pool) and the same
 * web server configuration.
 *
 *	FLOOR_MODE=hello	a fixed JSON answer
 *	FLOOR_MODE=select1	the same after one PostgreSQL round trip
 *				(SELECT 1, PQexecParams, on a connection
 *				of the process's pool)
 *	FLOOR_MODE=login	the minimum login writes as one statement: upsert
 *				the user of openid ?code= and insert a session
 *				(one round trip, one commit)
 *	FLOOR_MODE=login_wx	the same after one jscode2session call with
 *				lib/wx.c's client (libcurl over TLS to the fake
 *				WeChat, lent by a wx_pool as the worker's are:
 *				kept connections, shared TLS sessions): the
 *				code is exchanged and its openid is the user
 *
 * Threads as many as the worker may make (WXAUTH_THREADS, all started at
 * once: the floor neither grows nor holds back; each with its own
 * FCGX_Request, accepting in turn; a connection the web server keeps needs
 * no accept), and PostgreSQL connections as the worker has them: a pool of
 * WXAUTH_DB_POOL per process, made as needed, shared by the threads.  Reads
 * DATABASE_URL, WX_API_BASE,
 * WX_APPID, WX_SECRET, WX_CA_FILE like the worker.  `floor check-config`
 * exits 0 (the pool script asks).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <fcgiapp.h>
#include <libpq-fe.h>

#include "crypto.h"
#include "wx.h"

#define THREADS_MAX	1024
#define THREADS_DEFAULT	256		/* WXAUTH_THREADS' default (lib/config.c) */

enum mode { M_HELLO, M_SELECT1, M_LOGIN, M_LOGIN_WX };

static enum mode	 mode;
static const char	*dburl;
static struct wx_conf	 wc;
static struct wx_pool	*wxp;
static pthread_mutex_t	 accept_mu = PTHREAD_MUTEX_INITIALIZER;

/* The PostgreSQL connections of the process. */
static pthread_mutex_t	 pg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 pg_cv = PTHREAD_COND_INITIALIZER;
static PGconn		*pg_idle[THREADS_MAX];
static long		 pg_nidle, pg_made, pg_max = 4;	/* wxauth's default */

static PGconn *
pg_get(void)
{
	PGconn	*c = NULL;

	pthread_mutex_lock(&pg_mu);
	while (pg_nidle == 0 && pg_made == pg_max)
		pthread_cond_wait(&pg_cv, &pg_mu);
	if (pg_nidle > 0)
		c = pg_idle[--pg_nidle];
	else
		pg_made++;
	pthread_mutex_unlock(&pg_mu);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		c = PQconnectdb(dburl);
	}
	return c;
}

static void
pg_put(PGconn *c)
{
	pthread_mutex_lock(&pg_mu);
	pg_idle[pg_nidle++] = c;
	pthread_cond_signal(&pg_cv);
	pthread_mutex_unlock(&pg_mu);
}

static const char	 hello[] = "{\"code\":0,\"msg\":\"ok\",\"res\":{\"ok\":true}}";

/* The user's row and a new session, as wxauth's login writes them. */
static const char	 login_sql[] =
	"WITH u AS ("
	" INSERT INTO users (openid, session_key_enc, session_key_kid)"
	" VALUES ($1, $2, 'floor')"
	" ON CONFLICT (openid) DO UPDATE SET"
	"  session_key_enc = EXCLUDED.session_key_enc, updated_at = now()"
	" RETURNING id)"
	" INSERT INTO sessions (token_hash, user_id, expires_at)"
	" SELECT $3, u.id, now() + interval '30 days' FROM u";

static void
answer(FCGX_Request *fr, int status, const char *body)
{
	char	 head[160];
	int	 n;

	/* libfcgi's own printf knows no %zu: the head is made here. */
	n = snprintf(head, sizeof(head), "Status: %d\r\nContent-Type: "
	    "application/json; charset=utf-8\r\nContent-Length: %zu\r\n\r\n",
	    status, strlen(body));
	FCGX_PutStr(head, n, fr->out);
	FCGX_PutS(body, fr->out);
}

/* The value of ?code= (at most outsz - 1 bytes), or "". */
static void
query_code(FCGX_Request *fr, char *out, size_t outsz)
{
	const char	*q = FCGX_GetParam("QUERY_STRING", fr->envp), *p;
	size_t		 n = 0;

	out[0] = '\0';
	if (q == NULL || (p = strstr(q, "code=")) == NULL)
		return;
	for (p += 5; *p != '\0' && *p != '&' && n + 1 < outsz; p++)
		out[n++] = *p;
	out[n] = '\0';
}

static int
login(PGconn *pg, const char *openid)
{
	uint8_t		 key[28], hash[32];
	const char	*vals[3] = { openid, (const char *)key,
			    (const char *)hash };
	int		 lens[3] = { 0, sizeof(key), sizeof(hash) };
	int		 fmts[3] = { 0, 1, 1 };
	PGresult	*res;
	int		 ok;

	if (crypto_random(key, sizeof(key)) == -1 ||
	    crypto_random(hash, sizeof(hash)) == -1)
		return -1;
	res = PQexecParams(pg, login_sql, 3, NULL, vals, lens, fmts, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok ? 0 : -1;
}

static void *
thread_main(void *arg)
{
	FCGX_Request		 fr;
	struct wx_session	 ws;
	struct wx		*wx;
	PGconn			*pg = NULL;
	PGresult		*res;
	char			 code[128];
	long			 retry;
	int			 ok, rc;

	(void)arg;
	if (FCGX_InitRequest(&fr, 0, 0) != 0)
		return NULL;
	for (;;) {
		if (fr.ipcFd >= 0)
			rc = FCGX_Accept_r(&fr);	/* a kept connection */
		else {
			pthread_mutex_lock(&accept_mu);
			rc = FCGX_Accept_r(&fr);
			pthread_mutex_unlock(&accept_mu);
		}
		if (rc < 0)
			break;
		pg = mode != M_HELLO ? pg_get() : NULL;
		ok = 1;
		switch (mode) {
		case M_HELLO:
			break;
		case M_SELECT1:
			res = PQexecParams(pg, "SELECT 1", 0, NULL, NULL, NULL,
			    NULL, 0);
			ok = PQresultStatus(res) == PGRES_TUPLES_OK;
			PQclear(res);
			break;
		case M_LOGIN:
			query_code(&fr, code, sizeof(code));
			ok = code[0] != '\0' && login(pg, code) == 0;
			break;
		case M_LOGIN_WX:
			query_code(&fr, code, sizeof(code));
			pg_put(pg);	/* not held across the upstream call */
			wx = wx_pool_get(wxp);
			ok = wx != NULL && code[0] != '\0' &&
			    wx_code2session(wx, code, &ws, &retry, NULL) ==
			    ERR_OK;
			wx_pool_put(wxp, wx);
			pg = pg_get();
			ok = ok && login(pg, ws.openid) == 0;
			break;
		}
		if (pg != NULL)
			pg_put(pg);
		if (ok)
			answer(&fr, 200, hello);
		else
			answer(&fr, 503, "{\"code\":503,\"msg\":\"floor\","
			    "\"error\":\"unavailable\"}");
		FCGX_Finish_r(&fr);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t	 t[THREADS_MAX];
	const char	*m = getenv("FLOOR_MODE"), *n = getenv("WXAUTH_THREADS");
	const char	*dp = getenv("WXAUTH_DB_POOL");
	long		 threads = n != NULL ? strtol(n, NULL, 10) :
			    THREADS_DEFAULT, i;

	if (argc == 2 && strcmp(argv[1], "check-config") == 0)
		return 0;
	if (m == NULL || strcmp(m, "hello") == 0)
		mode = M_HELLO;
	else if (strcmp(m, "select1") == 0)
		mode = M_SELECT1;
	else if (strcmp(m, "login") == 0)
		mode = M_LOGIN;
	else if (strcmp(m, "login_wx") == 0)
		mode = M_LOGIN_WX;
	else {
		fprintf(stderr, "floor: FLOOR_MODE hello|select1|login|login_wx\n");
		return 2;
	}
	if (threads < 1 || threads > THREADS_MAX)
		threads = THREADS_DEFAULT;
	if (dp != NULL && (pg_max = strtol(dp, NULL, 10)) < 1)
		pg_max = 1;
	if (pg_max > THREADS_MAX)
		pg_max = THREADS_MAX;
	dburl = getenv("DATABASE_URL");
	if (mode != M_HELLO && dburl == NULL) {
		fprintf(stderr, "floor: DATABASE_URL is not set\n");
		return 2;
	}
	wc.base = getenv("WX_API_BASE");
	wc.appid = getenv("WX_APPID");
	wc.secret = getenv("WX_SECRET");
	wc.ca_file = getenv("WX_CA_FILE");
	wc.timeout_ms = 5000;
	if (mode == M_LOGIN_WX && (wc.base == NULL || wc.appid == NULL ||
	    wc.secret == NULL)) {
		fprintf(stderr, "floor: WX_API_BASE, WX_APPID, WX_SECRET\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || FCGX_Init() != 0)
		return 1;
	wxp = wx_pool_new(&wc, (size_t)threads);
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, thread_main, NULL) != 0)
			return 1;
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}

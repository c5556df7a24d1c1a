/*
 * serve.c -- one FastCGI request, from libfcgi's FCGX_Request to the bytes
 * written back, and the per-process application it runs against.
 *
 * The worker's threads (main.c) and the in-process FastCGI fuzz target
 * (tests/fuzz/fuzz_fcgi.c) both go through here, so that what is fuzzed is
 * what is served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>

#include "log.h"
#include "wxauth.h"

#define REPLY_MAX	(2 * 1024 * 1024)

/* Read the body into b; -1 if it is longer than b->max. */
static int
read_body(void *arg, struct buf *b)
{
	FCGX_Request	*fr = arg;
	char		 chunk[2048];	/* small: every thread's stack holds it */
	int		 n;

	while ((n = FCGX_GetStr(chunk, sizeof(chunk), fr->in)) > 0)
		if (buf_add(b, chunk, (size_t)n) == -1)
			return -1;
	return 0;
}

/* Tenths of a millisecond since t0 (the access line's dur_ms). */
static long
elapsed_dms(const struct timespec *t0)
{
	struct timespec	 t1;
	long long	 ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (long long)(t1.tv_sec - t0->tv_sec) * 1000000000LL +
	    (t1.tv_nsec - t0->tv_nsec);
	return (long)((ns + 50000) / 100000);
}

void
serve_request(const struct app *app, FCGX_Request *fr)
{
	struct timespec	 t0;
	struct req	 rq;
	struct reply	 rp;
	struct buf	 out;
	const char	*route;
	char		 uid[24];
	long		 dms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	req_init(&rq, (const char *const *)fr->envp);
	reply_init(&rp);
	buf_init(&out, REPLY_MAX);
	dispatch(app, &rq, &rp, read_body, fr, &route);
	if (reply_render(&rp, rq.rid, &out) == -1)
		log_msg(LOG_ERROR, rq.rid, "reply over %d bytes", REPLY_MAX);
	if (FCGX_PutStr(out.p, (int)out.len, fr->out) != (int)out.len)
		log_msg(LOG_INFO, rq.rid, "client went away");
	if (rp.uid > 0)
		snprintf(uid, sizeof(uid), "%lld", rp.uid);
	else
		memcpy(uid, "-", 2);
	dms = elapsed_dms(&t0);
	log_msg(LOG_INFO, rq.rid, "access method=%s route=%s status=%d "
	    "error=%s dur_ms=%ld.%ld uid=%s",
	    rq.method == METHOD_GET ? "GET" : rq.method == METHOD_POST ?
	    "POST" : "other", route, err_info(rp.er)->status,
	    rp.er == ERR_OK ? "-" : err_info(rp.er)->slug, dms / 10, dms % 10,
	    uid);
	buf_free(&out);
	reply_free(&rp);
	req_free(&rq);
}

int
app_open(struct app *app, struct wx_conf *wc, const struct config *cfg)
{
	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	if ((app->db = db_open(cfg->database_url, (size_t)cfg->db_pool,
	    cfg->db_wait_ms, cfg->db_timeout_ms, cfg->db_prepare)) == NULL)
		return -1;
	app->tokens.db = app->db;
	app->tokens.keys = &cfg->keys;
	app->tokens.appid = cfg->wx_appid;
	/* The refresher holds the lock for at most one WeChat call. */
	app->tokens.lock_ms = cfg->wx_timeout_ms + 1000;
	memset(wc, 0, sizeof(*wc));
	wc->base = cfg->wx_api_base;
	wc->appid = cfg->wx_appid;
	wc->secret = cfg->wx_secret;
	wc->ca_file = cfg->wx_ca_file;
	wc->timeout_ms = cfg->wx_timeout_ms;
	wc->allow_http = cfg->wx_allow_http;
	app->wxp = wx_pool_new(wc, (size_t)cfg->threads);
	if ((app->ahead = malloc(sizeof(*app->ahead))) == NULL) {
		app_close(app);
		return -1;
	}
	limit_ahead_init(app->ahead);
	return 0;
}

/*
 * Add the hits counted ahead of the database to it (the maintenance
 * thread, every second).  A failed add loses them (an undercount) and ends
 * this round: the rest wait for the next, so that a database that does not
 * answer costs one timeout a round, not one a key.
 */
void
app_flush_counts(struct app *app)
{
	char	 key[LIMIT_KEY_MAX];
	long	 win, add, n, ra;
	size_t	 pos = 0;
	time_t	 now = time(NULL);
	enum err er;

	while (limit_ahead_drain(app->ahead, &pos, now, key, &win, &add)) {
		er = db_limit_add(app->db, key, win, add, &n, &ra, NULL);
		limit_ahead_learn(app->ahead, key, win, now, add, 0,
		    er == ERR_OK ? n : -1);
		if (er != ERR_OK)
			break;
	}
}

void
app_close(struct app *app)
{
	wx_pool_free(app->wxp);
	app->wxp = NULL;
	if (app->ahead != NULL)
		limit_ahead_free(app->ahead);
	free(app->ahead);
	app->ahead = NULL;
	db_close(app->db);
	app->db = NULL;
}

/*
 * wxauth.h -- what the parts of the worker program share: the application
 * (configuration and database pool, one per process), the per-request
 * context handlers receive, and the route table.
 */
#ifndef WXAUTH_FCGI_H
#define WXAUTH_FCGI_H

#include "buf.h"
#include "config.h"
#include "db.h"
#include "limit.h"
#include "params.h"
#include "profile.h"
#include "req.h"
#include "resp.h"
#include "token.h"
#include "wx.h"

struct app {
	const struct config	*cfg;
	struct db		*db;
	struct token_src	 tokens;	/* the shared access_token */
	struct wx_pool		*wxp;	/* WeChat clients (wx.h) */
	struct limit_ahead	*ahead;	/* counts ahead of the database */
};

/* Everything a handler may use; all of it borrowed. */
struct ctx {
	const struct app	*app;
	struct wx		*wx;	/* borrowed from app->wxp on the first
					   WeChat call (wx_client()), returned
					   by dispatch() */
	const struct req	*rq;
	const struct params	*pa;	/* validated, parallel to the route's spec */
	struct reply		*rp;	/* filled by the handler */
	char			 fail_key[LIMIT_KEY_MAX]; /* the session's
					   decrypt-failure counter, once
					   authenticated */
};

typedef enum err (*handler_fn)(struct ctx *);

struct route {
	const char		*path;
	unsigned		 methods;	/* enum method bits */
	size_t			 body_max;	/* bytes */
	const struct pspec	*spec;
	size_t			 nspec;
	handler_fn		 fn;
};

/* Reads the request body into b (bounded by b->max).  0, or -1 if longer. */
typedef int (*body_reader)(void *arg, struct buf *b);

/*
 * The route table (what `wxauth routes` prints): *n entries.  A path ending
 * in '/' is a prefix: it matches what continues it with no further '/'.
 */
const struct route	*routes_table(size_t *n);

/*
 * Route rq, check its method and size, read and validate its parameters,
 * and run its handler, leaving the outcome in rp.  *route_name is set to the
 * route's path, or "-" when none matched.
 */
void	dispatch(const struct app *, struct req *rq,
	    struct reply *rp, body_reader rd, void *rdarg,
	    const char **route_name);

/*
 * The application of one process (serve.c): its database pool, token
 * source and WeChat clients (at most cfg->threads) from cfg, with *wc the
 * WeChat settings they are made from.  cfg and wc must outlive it.  0, or
 * -1 if the database pool cannot be made.
 */
int	app_open(struct app *, struct wx_conf *wc, const struct config *cfg);
void	app_close(struct app *);
void	app_flush_counts(struct app *);

/*
 * Serve the request libfcgi has read into fr (after FCGX_Accept_r): model
 * it, dispatch it, write the response to fr->out and log one access line.
 * The caller finishes it (FCGX_Finish_r).
 */
struct FCGX_Request;
void	serve_request(const struct app *, struct FCGX_Request *);

/* The WeChat client of this request (handlers.c): NULL if none can be made. */
struct wx	*wx_client(struct ctx *);

/*
 * Where handlers find their parameters in ctx->pa->v: the order of the
 * route's spec table (routes.c).
 */
enum { CS_REMOTE };					/* check_session */
enum { UB_ENC = PROFILE_PARAMS, UB_IV, UB_RAW, UB_SIG };	/* update_base_info */
enum { BP_CODE, BP_ENC, BP_IV };			/* bind_wx_phone_number */

/* The handlers (handlers.c). */
enum err	h_healthz(struct ctx *);
enum err	h_auth_login(struct ctx *);
enum err	h_user_info(struct ctx *);
enum err	h_check_session(struct ctx *);
enum err	h_logout(struct ctx *);
enum err	h_update_base_info(struct ctx *);
enum err	h_bind_phone(struct ctx *);
enum err	h_avatar_upload(struct ctx *);
enum err	h_avatar_get(struct ctx *);

#endif

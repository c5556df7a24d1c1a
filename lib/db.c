/*
 * db.c -- the connection pool and the statements (see db.h for the policy).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "clock.h"
#include "db.h"
#include "log.h"

#define DOWN_BACKOFF_MS	250	/* after a failed connect, fail fast this long */

#define CANCEL_GRACE_MS	1000	/* after a cancel, wait this long, then reset */

#define PREPARED_MAX	32	/* statements prepared per connection, at most */

#define STALE_CHECK_MS	1000	/* a read checks a connection unused this long */

/* A statement: its SQL and whether it may be retried (it only reads). */
struct stmt {
	const char	*name;		/* also its prepared statement's name */
	const char	*sql;
	int		 retry;
	/*
	 * What is prepared instead of sql, where that is cheaper: a query on
	 * a SQL function the planner inlines, whose generic plan the prepared
	 * statement keeps, in place of sql's PL/pgSQL function (which keeps
	 * its plan when sent as text, through PgBouncer, but costs a call).
	 * NULL: sql.  Same parameters and columns.
	 */
	const char	*prep_sql;
};

struct dbconn {
	PGconn	*pg;
	int	 busy;
	int	 broken;	/* the last statement lost the connection */
	long long used_ms;	/* monotonic ms it was last given back */
	long	 stmt_ms;	/* statement timeout; 0: none */
	int	 prepare;	/* statements are prepared on this connection */
	size_t	 nprep;
	const struct stmt *prep[PREPARED_MAX];	/* those prepared so far */
};

struct db {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		*conninfo;
	long		 wait_ms;
	enum db_prepare	 mode;
	long long	 down_until;	/* monotonic ms; guarded by mu */
	int		 suspect;	/* the last statement found it down
					   (atomic: read on every login) */
	int		 said;		/* the prepare decision last logged */
	size_t		 n;
	struct dbconn	 c[];
};

int
db_prepare_parse(const char *s, enum db_prepare *out)
{
	if (strcmp(s, "auto") == 0)
		*out = DB_PREPARE_AUTO;
	else if (strcmp(s, "on") == 0)
		*out = DB_PREPARE_ON;
	else if (strcmp(s, "off") == 0)
		*out = DB_PREPARE_OFF;
	else
		return -1;
	return 0;
}

struct db *
db_open(const char *conninfo, size_t size, long wait_ms, long stmt_ms,
    enum db_prepare mode)
{
	struct db		*db;
	pthread_condattr_t	 ca;
	size_t			 i;

	if (size == 0 || size > 1024 || conninfo == NULL)
		return NULL;
	if ((db = calloc(1, sizeof(*db) + size * sizeof(db->c[0]))) == NULL ||
	    (db->conninfo = strdup(conninfo)) == NULL)
		abort();
	db->n = size;
	db->wait_ms = wait_ms;
	db->mode = mode;
	db->said = -1;
	for (i = 0; i < size; i++)
		db->c[i].stmt_ms = stmt_ms;
	pthread_mutex_init(&db->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&db->cv, &ca);
	pthread_condattr_destroy(&ca);
	return db;
}

void
db_close(struct db *db)
{
	size_t	 i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++)
		if (db->c[i].pg != NULL)
			PQfinish(db->c[i].pg);
	pthread_mutex_destroy(&db->mu);
	pthread_cond_destroy(&db->cv);
	free(db->conninfo);
	free(db);
}

/* libpq's first line of an error, without the trailing newline. */
static void
log_pq(enum log_level l, const char *rid, const char *what, PGconn *pg)
{
	const char	*m = pg != NULL ? PQerrorMessage(pg) : "out of memory";
	size_t		 n = strcspn(m, "\n");

	log_msg(l, rid, "db: %s: %.*s", what, (int)n, m);
}

/* Server notices (e.g. "already exists, skipping") are not our log's business. */
static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *
connect_db(const char *conninfo)
{
	PGconn			*pg;
	/* Defaults first: values in conninfo override them. */
	const char *const	 keys[] = { "connect_timeout",
	    "application_name", "dbname", NULL };
	const char *const	 vals[] = { "2", "wxauth", conninfo, NULL };

	pg = PQconnectdbParams(keys, vals, 1);
	if (pg != NULL)
		PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

/*
 * Has the server closed this idle connection (restart, shutdown)?  A dead
 * peer makes the socket readable; consuming the input then marks it bad.
 */
static int
is_stale(PGconn *pg)
{
	struct pollfd	 pfd;

	if (PQstatus(pg) != CONNECTION_OK)
		return 1;
	pfd.fd = PQsocket(pg);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return 1;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (PQconsumeInput(pg) == 0 || PQstatus(pg) != CONNECTION_OK)
		return 1;
	return 0;
}

static void	decide(struct db *, struct dbconn *, const char *);

/*
 * Make a borrowed connection usable: connect, or reset a dead one.  With
 * retried (the caller retries a statement that loses the connection), one
 * given back within STALE_CHECK_MS is not checked.
 */
static enum err
ready(struct db *db, struct dbconn *c, int retried, const char *rid)
{
	int	 fresh = 0;

	/*
	 * A connection left inside a transaction is reset, never reused (and
	 * a bad one is not idle: PQTRANS_UNKNOWN).
	 */
	if (c->pg != NULL && !c->broken &&
	    PQtransactionStatus(c->pg) == PQTRANS_IDLE &&
	    ((retried && clock_ms() - c->used_ms < STALE_CHECK_MS) ||
	    !is_stale(c->pg)))
		return ERR_OK;
	pthread_mutex_lock(&db->mu);
	if (clock_ms() < db->down_until) {
		pthread_mutex_unlock(&db->mu);
		return ERR_UNAVAILABLE;
	}
	pthread_mutex_unlock(&db->mu);
	if (c->pg == NULL) {
		c->pg = connect_db(db->conninfo);
		fresh = 1;
	} else
		PQreset(c->pg);
	c->broken = 0;
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK) {
		if (!fresh)
			log_msg(LOG_INFO, rid, "db: connection reset");
		decide(db, c, rid);
		return ERR_OK;
	}
	log_pq(LOG_WARN, rid, "cannot connect", c->pg);
	PQfinish(c->pg);
	c->pg = NULL;
	pthread_mutex_lock(&db->mu);
	db->down_until = clock_ms() + DOWN_BACKOFF_MS;
	pthread_mutex_unlock(&db->mu);
	return ERR_UNAVAILABLE;
}

static enum err
acquire(struct db *db, struct dbconn **out, int retried, const char *rid)
{
	struct timespec	 dl;
	struct dbconn	*c = NULL;
	enum err	 er;
	size_t		 i;
	int		 rc = 0;

	clock_deadline(CLOCK_MONOTONIC, db->wait_ms, &dl);
	pthread_mutex_lock(&db->mu);
	for (;;) {
		/* Prefer an open connection over opening another. */
		for (i = 0; i < db->n; i++)
			if (!db->c[i].busy && (c == NULL || c->pg == NULL))
				c = &db->c[i];
		if (c != NULL || rc == ETIMEDOUT)
			break;
		rc = pthread_cond_timedwait(&db->cv, &db->mu, &dl);
	}
	if (c != NULL)
		c->busy = 1;
	pthread_mutex_unlock(&db->mu);
	if (c == NULL) {
		log_msg(LOG_WARN, rid, "db: no free connection within %ld ms",
		    db->wait_ms);
		return ERR_UNAVAILABLE;
	}
	if ((er = ready(db, c, retried, rid)) != ERR_OK) {
		db_release(db, c);
		return er;
	}
	*out = c;
	return ERR_OK;
}

enum err
db_acquire(struct db *db, struct dbconn **out, const char *rid)
{
	return acquire(db, out, 0, rid);
}

void
db_release(struct db *db, struct dbconn *c)
{
	long long	 now = clock_ms();

	pthread_mutex_lock(&db->mu);
	c->busy = 0;
	c->used_ms = now;
	pthread_cond_signal(&db->cv);
	pthread_mutex_unlock(&db->mu);
}

/* Is this SQLSTATE "the database is unavailable" rather than a bug? */
static int
unavailable_state(const char *st)
{
	if (st == NULL)
		return 1;	/* no result from the server at all */
	return strncmp(st, "08", 2) == 0 ||	/* connection exception */
	    strncmp(st, "53", 2) == 0 ||	/* insufficient resources */
	    strncmp(st, "57", 2) == 0 ||	/* shutdown, cancel, timeout */
	    strncmp(st, "58", 2) == 0 ||	/* system error */
	    strcmp(st, "40001") == 0 ||		/* serialization failure */
	    strcmp(st, "40P01") == 0 ||		/* deadlock */
	    strcmp(st, "25006") == 0 ||		/* read-only transaction */
	    strcmp(st, "55P03") == 0;		/* lock_timeout reached */
}

/*
 * Wait for the result of what was just sent on c, with a deadline of ms
 * (0: none).  Past it the statement is cancelled (the server ends it with
 * 57014, which is "unavailable"); if even that brings no result within
 * CANCEL_GRACE_MS, the connection is given up (reset before its next use).
 * Works through PgBouncer, which forwards cancel requests; a server-side
 * statement_timeout would not survive its transaction pooling.
 */
static PGresult *
await(struct dbconn *c, long ms, const char *name, const char *rid)
{
	PGresult	*res, *last = NULL;
	PGcancel	*cn;
	struct pollfd	 pfd;
	char		 eb[256];
	long long	 deadline = ms > 0 ? clock_ms() + ms : 0, left = -1;
	int		 cancelled = 0;

	for (;;) {
		if (!PQisBusy(c->pg)) {
			if ((res = PQgetResult(c->pg)) == NULL)
				return last;
			PQclear(last);
			last = res;
			continue;
		}
		if (deadline != 0 && (left = deadline - clock_ms()) <= 0) {
			if (cancelled) {
				log_msg(LOG_WARN, rid, "db: %s: no answer to the "
				    "cancel; resetting the connection", name);
				c->broken = 1;
				PQclear(last);
				return NULL;
			}
			log_msg(LOG_WARN, rid, "db: %s: over %ld ms; cancelling",
			    name, ms);
			if ((cn = PQgetCancel(c->pg)) != NULL) {
				(void)PQcancel(cn, eb, sizeof(eb));
				PQfreeCancel(cn);
			}
			cancelled = 1;
			deadline = clock_ms() + CANCEL_GRACE_MS;
			continue;
		}
		pfd.fd = PQsocket(c->pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0 || (poll(&pfd, 1, (int)left) == -1 &&
		    errno != EINTR) || PQconsumeInput(c->pg) == 0) {
			c->broken = 1;
			PQclear(last);
			return NULL;
		}
	}
}

/*
 * Send sql with its parameters -- or, when pname is set, the statement
 * prepared under that name on c -- and wait for its result (await()).
 */
static PGresult *
exec_timed(struct dbconn *c, const char *pname, const char *sql, int n,
    const char *const *vals, const int *lens, const int *fmts, long ms,
    const char *name, const char *rid)
{
	int	 sent;

	if (pname != NULL)
		sent = PQsendQueryPrepared(c->pg, pname, n, vals, lens, fmts, 0);
	else
		sent = PQsendQueryParams(c->pg, sql, n, NULL, vals, lens, fmts,
		    0);
	if (!sent) {
		if (PQstatus(c->pg) != CONNECTION_OK)
			c->broken = 1;
		return NULL;
	}
	return await(c, ms, name, rid);
}

/*
 * Run sql (pname: as prepared on c) with n parameters (text, except those
 * with a length in lens, which are binary) and return its result in *res
 * (caller clears it).  ms overrides the connection's statement timeout
 * when not 0.
 */
static enum err
exec_ms(struct dbconn *c, const char *name, const char *pname,
    const char *sql, int n, const char *const *vals, const int *lens,
    const int *fmts, long ms, PGresult **res, const char *rid)
{
	ExecStatusType	 st;
	const char	*state, *prim;

	*res = exec_timed(c, pname, sql, n, vals, lens, fmts, ms != 0 ? ms :
	    c->stmt_ms, name, rid);
	st = PQresultStatus(*res);
	if (*res != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
		return ERR_OK;
	state = *res != NULL ? PQresultErrorField(*res, PG_DIAG_SQLSTATE) : NULL;
	prim = *res != NULL ? PQresultErrorField(*res, PG_DIAG_MESSAGE_PRIMARY) :
	    NULL;
	if (pname != NULL && state != NULL && (strcmp(state, "26000") == 0 ||
	    strcmp(state, "0A000") == 0)) {
		/*
		 * The prepared statement is gone (26000: DISCARD ALL, or a
		 * pooler after all), or a migration changed what it returns
		 * (0A000: "cached plan must not change result type").
		 * Nothing ran: the server refused it before executing it.
		 * Send it as text, and stop preparing on this connection.
		 */
		log_msg(LOG_WARN, rid, "db: %s: its prepared statement is gone "
		    "or stale (%s); this connection no longer prepares "
		    "statements", name, state);
		c->prepare = 0;
		c->nprep = 0;
		PQclear(*res);
		return exec_ms(c, name, NULL, sql, n, vals, lens, fmts, ms, res,
		    rid);
	}
	if (PQstatus(c->pg) != CONNECTION_OK)
		c->broken = 1;
	if (c->broken || unavailable_state(state)) {
		if (prim != NULL)
			log_msg(LOG_WARN, rid, "db: %s: %s %s", name,
			    state != NULL ? state : "-", prim);
		else
			log_pq(LOG_WARN, rid, name, c->pg);
		PQclear(*res);
		*res = NULL;
		return ERR_UNAVAILABLE;
	}
	log_msg(LOG_ERROR, rid, "db: %s: %s %s", name, state,
	    prim != NULL ? prim : "");
	PQclear(*res);
	*res = NULL;
	return ERR_INTERNAL;
}

static enum err
exec(struct dbconn *c, const char *name, const char *sql, int n,
    const char *const *vals, const int *lens, const int *fmts, PGresult **res,
    const char *rid)
{
	return exec_ms(c, name, NULL, sql, n, vals, lens, fmts, 0, res, rid);
}

enum err
db_exec(struct dbconn *c, const char *sql, int n, const char *const *vals,
    long *nrows, const char *rid)
{
	PGresult	*res;
	enum err	 er;
	const char	*t;

	if ((er = exec(c, "migrate", sql, n, vals, NULL, NULL, &res, rid)) !=
	    ERR_OK)
		return er;
	if (nrows != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			*nrows = PQntuples(res);
		else
			*nrows = *(t = PQcmdTuples(res)) != '\0' ? atol(t) : 0;
	}
	PQclear(res);
	return ERR_OK;
}

/*
 * Decide, for a connection just made, whether statements are prepared on
 * it (db.h).  A connection pooler in between hands the client a cancel key
 * of its own, so the backend pid the connection announced is not the pid
 * of the backend that answers; under transaction pooling a statement
 * prepared on one server connection would be run on another.
 */
static void
decide(struct db *db, struct dbconn *c, const char *rid)
{
	PGresult	*res;
	int		 direct = 0;

	c->nprep = 0;
	c->prepare = db->mode == DB_PREPARE_ON;
	if (db->mode == DB_PREPARE_AUTO) {
		res = exec_timed(c, NULL, "SELECT pg_backend_pid()", 0, NULL,
		    NULL, NULL, c->stmt_ms, "backend_pid", rid);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1) {
			/* Not known: text, and no decision to tell. */
			PQclear(res);
			return;
		}
		direct = atol(PQgetvalue(res, 0, 0)) ==
		    (long)PQbackendPID(c->pg);
		PQclear(res);
		c->prepare = direct;
	}
	if (db->mode == DB_PREPARE_OFF)
		return;		/* asked for (the one-shot commands): no news */
	pthread_mutex_lock(&db->mu);
	if (db->said != c->prepare) {
		db->said = c->prepare;
		pthread_mutex_unlock(&db->mu);
		log_msg(LOG_INFO, rid, c->prepare ? "db: statements are "
		    "prepared once per connection (%s)" : "db: statements are "
		    "sent as text (%s)", db->mode != DB_PREPARE_AUTO ?
		    "WXAUTH_DB_PREPARE" : direct ? "connected to the server "
		    "itself" : "a connection pooler is in between");
		return;
	}
	pthread_mutex_unlock(&db->mu);
}

/*
 * The name st is prepared under on c, preparing it first if need be; NULL
 * when it is to be sent as text.  A statement that cannot be prepared
 * (42P05: a pooler's server connection has it already) turns preparing off
 * for the connection; its error, if any, then comes from sending it.
 */
static const char *
prepared(struct dbconn *c, const struct stmt *st, int n, const char *rid)
{
	PGresult	*res;
	size_t		 i;
	int		 ok;

	if (!c->prepare)
		return NULL;
	for (i = 0; i < c->nprep; i++)
		if (c->prep[i] == st)
			return st->name;
	if (c->nprep == PREPARED_MAX)
		return NULL;
	if (!PQsendPrepare(c->pg, st->name, st->prep_sql != NULL ?
	    st->prep_sql : st->sql, n, NULL))
		return NULL;
	res = await(c, c->stmt_ms, st->name, rid);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok && !c->broken) {
		log_msg(LOG_WARN, rid, "db: %s: cannot prepare it (%s); this "
		    "connection sends statements as text", st->name, res != NULL &&
		    PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL ?
		    PQresultErrorField(res, PG_DIAG_SQLSTATE) : "-");
		c->prepare = 0;
	}
	PQclear(res);
	if (!ok)
		return NULL;
	c->prep[c->nprep++] = st;
	return st->name;
}

/*
 * What the last statement says of the database, for db_usable(): down
 * (unavailable: no connection, or none to the server behind PgBouncer) or
 * up.  Written only when it changes.
 */
static void
note_outcome(struct db *db, enum err er)
{
	int	 down = er == ERR_UNAVAILABLE;

	if (__atomic_load_n(&db->suspect, __ATOMIC_RELAXED) != down)
		__atomic_store_n(&db->suspect, down, __ATOMIC_RELAXED);
}

/*
 * Borrow a connection, run st (prepared when the connection prepares), give
 * it back.  A read-only statement that lost its connection is retried once
 * on a reset one.
 */
static enum err
run(struct db *db, const struct stmt *st, int n, const char *const *vals,
    const int *lens, const int *fmts, PGresult **res, const char *rid)
{
	struct dbconn	*c;
	enum err	 er;
	int		 tries = st->retry ? 2 : 1, broken;

	do {
		if ((er = acquire(db, &c, tries > 1, rid)) != ERR_OK)
			break;
		er = exec_ms(c, st->name, prepared(c, st, n, rid), st->sql, n,
		    vals, lens, fmts, 0, res, rid);
		broken = c->broken;
		db_release(db, c);
	} while (er == ERR_UNAVAILABLE && broken && --tries > 0);
	note_outcome(db, er);
	return er;
}

/* The profile columns, in the order row_user() reads them. */
#define USER_COLS(t) \
	t ".id, " t ".gender, " t ".openid, " t ".unionid, " t ".nick_name, " \
	t ".province, " t ".city, " t ".country, " t ".avatar_url, " \
	t ".language, " t ".phone_number, " t ".pure_phone_number, " \
	t ".country_code, " \
	"to_char(" t ".created_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
	"to_char(" t ".updated_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define USER_NCOLS	(2 + UF__MAX)

static char *
dup_field(const PGresult *res, int row, int col)
{
	char	*s;

	if (PQgetisnull(res, row, col))
		return NULL;
	if ((s = strdup(PQgetvalue(res, row, col))) == NULL)
		abort();
	return s;
}

/* Read the USER_COLS of row into u. */
static void
row_user(const PGresult *res, int row, struct user *u)
{
	int	 i;

	memset(u, 0, sizeof(*u));
	u->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	u->gender = PQgetisnull(res, row, 1) ? -1 :
	    atoi(PQgetvalue(res, row, 1));
	for (i = 0; i < UF__MAX; i++)
		u->f[i] = dup_field(res, row, 2 + i);
}

static const struct stmt st_ping = { "ping", "SELECT 1", 1, NULL };

enum err
db_ping(struct db *db, const char *rid)
{
	PGresult	*res;
	enum err	 er;

	if ((er = run(db, &st_ping, 0, NULL, NULL, NULL, &res, rid)) == ERR_OK)
		PQclear(res);
	return er;
}

enum err
db_usable(struct db *db, const char *rid)
{
	if (!__atomic_load_n(&db->suspect, __ATOMIC_RELAXED))
		return ERR_OK;
	/* The last statement found it down: ask it (the answer is noted). */
	return db_ping(db, rid);
}

/* The start of the fixed window of w seconds that now() falls in. */
#define WINDOW_START(w) \
	"to_timestamp(floor(extract(epoch FROM now()) / " w ") * " w ")"

/*
 * The login in one statement (migrations/0004, wxauth_login): the
 * per-openid limit's count (none when $8 is NULL), then, only when that is
 * within $9, the user upsert, the revocation of the presented token and
 * the new session.  Concurrent first logins of one openid serialise on the
 * unique index, so exactly one of them inserts.  One row always: the
 * user's columns (NULLs when over the limit), is_new, then the count and
 * the seconds left in its window.
 */
static const struct stmt st_login = { "login",
	"SELECT * FROM wxauth_login($1::text, $2::text, $3::bytea, $4::bytea,"
	" $5::bytea, $6::int, $7::text, $8::text, $9::int, $10::int)", 0, NULL };

enum err
db_login(struct db *db, const struct db_login *in, struct user *u,
    int *is_new, long *retry_after, const char *rid)
{
	char		 ttl[24], lim[24], win[24];
	const char	*vals[10];
	int		 lens[10] = { 0, 0, 0, SHA256_LEN, SHA256_LEN, 0, 0, 0, 0,
			    0 };
	int		 fmts[10] = { 0, 0, 1, 1, 1, 0, 0, 0, 0, 0 };
	PGresult	*res;
	enum err	 er;

	*retry_after = 0;
	snprintf(ttl, sizeof(ttl), "%ld", in->ttl);
	snprintf(lim, sizeof(lim), "%ld", in->limit);
	snprintf(win, sizeof(win), "%ld", in->limit_window > 0 ?
	    in->limit_window : 1);
	vals[0] = in->openid;
	vals[1] = in->unionid;
	vals[2] = (const char *)in->session_key->b;
	lens[2] = (int)in->session_key->len;
	vals[3] = (const char *)in->old_hash;
	vals[4] = (const char *)in->new_hash;
	vals[5] = ttl;
	vals[6] = in->session_key->kid;
	vals[7] = in->limit_key;
	vals[8] = lim;
	vals[9] = win;
	if ((er = run(db, &st_login, 10, vals, lens, fmts, &res, rid)) != ERR_OK)
		return er;
	if (PQntuples(res) != 1 || PQnfields(res) != USER_NCOLS + 3) {
		log_msg(LOG_ERROR, rid, "db: login: unexpected result shape");
		PQclear(res);
		return ERR_INTERNAL;
	}
	if (PQgetisnull(res, 0, 0)) {
		*retry_after = PQgetisnull(res, 0, USER_NCOLS + 2) ? 1 :
		    strtol(PQgetvalue(res, 0, USER_NCOLS + 2), NULL, 10);
		PQclear(res);
		return ERR_RATE_LIMITED;
	}
	row_user(res, 0, u);
	*is_new = strcmp(PQgetvalue(res, 0, USER_NCOLS), "t") == 0;
	PQclear(res);
	return ERR_OK;
}

/*
 * Session lookup, expiry checks and the user row in one round trip that
 * only reads (migrations/0006, wxauth_session_read: its plan is kept by the
 * server connection).  Its column after expires_in says whether last_seen
 * is older than the touch interval; only then does st_session_touch follow.
 * Prepared, it is the same query on wxauth_session_live (0007), inlined
 * (so are the two below): PostgreSQL's CPU for an info fell from about 55
 * to 43 us without the PL/pgSQL call, and check_session's from 42 to 33.
 */
static const struct stmt st_session_user = { "session_read",
	"SELECT * FROM wxauth_session_read($1::bytea, $2::int, $3::int)", 1,
	"SELECT " USER_COLS("u") ", l.expires_in, l.stale"
	" FROM wxauth_session_live($1::bytea, $2::int, $3::int) l"
	" JOIN users u ON u.id = l.user_id" };
/*
 * The same, with the sealed session_key for the routes that need it, and
 * this session's decrypt failures in the current window ($4: its counter
 * key, $5: the window in seconds; see db_limit_add()).
 */
static const struct stmt st_session_user_key = { "session_read_key",
	"SELECT * FROM wxauth_session_read_key($1::bytea, $2::int, $3::int,"
	" $4::text, $5::int)", 1,
	"SELECT " USER_COLS("u") ", l.expires_in, l.stale,"
	" u.session_key_enc, u.session_key_kid,"
	" COALESCE((SELECT n FROM rate_counters WHERE key = $4::text"
	"  AND window_start = " WINDOW_START("$5::int") "), 0)"
	" FROM wxauth_session_live($1::bytea, $2::int, $3::int) l"
	" JOIN users u ON u.id = l.user_id" };
/* check_session's read: the session alone (migrations/0007). */
static const struct stmt st_session_check = { "session_check",
	"SELECT * FROM wxauth_session_check($1::bytea, $2::int, $3::int)", 1,
	"SELECT * FROM wxauth_session_live($1::bytea, $2::int, $3::int)" };
/* The touch, once per interval: a concurrent one finds nothing to do. */
static const struct stmt st_session_touch = { "session_touch",
	"UPDATE sessions SET last_seen = now() WHERE token_hash = $1"
	" AND last_seen <= now() - make_interval(secs => $2::int)", 0, NULL };

/*
 * Copy a bytea column (text result: hex escaped) and the text column after
 * it into a sealed value.  Anything unexpected leaves it empty, which opens
 * nothing.
 */
static void
row_sealed(const PGresult *res, int row, int col, struct sealed *out)
{
	unsigned char	*b;
	size_t		 n;

	memset(out, 0, sizeof(*out));
	if (PQgetisnull(res, row, col) || PQgetisnull(res, row, col + 1) ||
	    (size_t)PQgetlength(res, row, col + 1) >= sizeof(out->kid))
		return;
	if ((b = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row,
	    col), &n)) == NULL)
		return;
	if (n <= sizeof(out->b)) {
		memcpy(out->b, b, n);
		out->len = n;
		memcpy(out->kid, PQgetvalue(res, row, col + 1),
		    (size_t)PQgetlength(res, row, col + 1) + 1);
	}
	PQfreemem(b);
}

/*
 * Run a session read: st with the token hash, idle and touch (and, with
 * key, the session's failure counter and its window), returning nfields
 * columns of which expires_in and stale are at col and col + 1.  Leaves the
 * one row in *res and sets *expires_in, or returns ERR_UNAUTHORIZED when
 * the session is not live.  Sends the touch when it is due; the read stands
 * if the touch fails (the next read tries again).
 */
static enum err
read_session(struct db *db, const struct stmt *st,
    const uint8_t hash[SHA256_LEN], long idle, long touch,
    const struct db_session_key *key, int nfields, int col, long *expires_in,
    PGresult **res, const char *rid)
{
	char		 si[24], sto[24], win[24];
	const char	*vals[5] = { (const char *)hash, si, sto, NULL, win };
	int		 lens[5] = { SHA256_LEN, 0, 0, 0, 0 };
	int		 fmts[5] = { 1, 0, 0, 0, 0 };
	PGresult	*t;
	enum err	 er;

	snprintf(si, sizeof(si), "%ld", idle);
	snprintf(sto, sizeof(sto), "%ld", touch);
	if (key != NULL) {
		vals[3] = key->fail_key;
		snprintf(win, sizeof(win), "%ld", key->fail_window);
	}
	if ((er = run(db, st, key != NULL ? 5 : 3, vals, lens, fmts, res,
	    rid)) != ERR_OK)
		return er;
	if (PQntuples(*res) != 1) {
		PQclear(*res);
		return ERR_UNAUTHORIZED;
	}
	if (PQnfields(*res) != nfields) {
		log_msg(LOG_ERROR, rid, "db: %s: unexpected result shape",
		    st->name);
		PQclear(*res);
		return ERR_INTERNAL;
	}
	*expires_in = strtol(PQgetvalue(*res, 0, col), NULL, 10);
	/* The touch: $1 the hash, $2 the interval. */
	vals[1] = sto;
	if (strcmp(PQgetvalue(*res, 0, col + 1), "t") == 0 &&
	    run(db, &st_session_touch, 2, vals, lens, fmts, &t, rid) == ERR_OK)
		PQclear(t);
	return ERR_OK;
}

enum err
db_session_user(struct db *db, const uint8_t hash[SHA256_LEN], long idle,
    long touch, struct user *u, long *expires_in, struct db_session_key *key,
    const char *rid)
{
	PGresult	*res;
	enum err	 er;

	if ((er = read_session(db, key != NULL ? &st_session_user_key :
	    &st_session_user, hash, idle, touch, key,
	    USER_NCOLS + (key != NULL ? 5 : 2), USER_NCOLS, expires_in, &res,
	    rid)) != ERR_OK)
		return er;
	row_user(res, 0, u);
	if (key != NULL) {
		row_sealed(res, 0, USER_NCOLS + 2, &key->sealed);
		key->fails = strtol(PQgetvalue(res, 0, USER_NCOLS + 4), NULL,
		    10);
	}
	PQclear(res);
	return ERR_OK;
}

enum err
db_session_check(struct db *db, const uint8_t hash[SHA256_LEN], long idle,
    long touch, long long *uid, long *expires_in, const char *rid)
{
	PGresult	*res;
	enum err	 er;

	if ((er = read_session(db, &st_session_check, hash, idle, touch, NULL,
	    3, 1, expires_in, &res, rid)) != ERR_OK)
		return er;
	*uid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return ERR_OK;
}

static const struct stmt st_session_revoke = { "session_revoke",
	"DELETE FROM sessions"
	" WHERE token_hash = $1 AND expires_at > now()"
	"  AND last_seen > now() - make_interval(secs => $2::int)"
	" RETURNING user_id", 0, NULL };

enum err
db_session_revoke(struct db *db, const uint8_t hash[SHA256_LEN], long idle,
    long long *uid, const char *rid)
{
	char		 si[24];
	const char	*vals[2] = { (const char *)hash, si };
	int		 lens[2] = { SHA256_LEN, 0 };
	int		 fmts[2] = { 1, 0 };
	PGresult	*res;
	enum err	 er;

	snprintf(si, sizeof(si), "%ld", idle);
	if ((er = run(db, &st_session_revoke, 2, vals, lens, fmts, &res,
	    rid)) != ERR_OK)
		return er;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return ERR_UNAUTHORIZED;
	}
	*uid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return ERR_OK;
}

static const struct stmt st_user_update = { "user_update",
	"UPDATE users SET"
	" nick_name = COALESCE($2, nick_name),"
	" gender = COALESCE($3::smallint, gender),"
	" province = COALESCE($4, province),"
	" city = COALESCE($5, city),"
	" country = COALESCE($6, country),"
	" avatar_url = COALESCE($7, avatar_url),"
	" language = COALESCE($8, language),"
	" unionid = COALESCE($9, unionid),"
	" updated_at = now()"
	" WHERE id = $1"
	" RETURNING " USER_COLS("users"), 0, NULL };

/* The one row of a statement that returns USER_COLS, into u. */
static enum err
one_user(PGresult *res, struct user *u, const char *what, const char *rid)
{
	if (PQntuples(res) != 1 || PQnfields(res) != USER_NCOLS) {
		/* The user is gone (deleted under a live session). */
		log_msg(LOG_WARN, rid, "db: %s: no such user", what);
		PQclear(res);
		return ERR_UNAUTHORIZED;
	}
	row_user(res, 0, u);
	PQclear(res);
	return ERR_OK;
}

enum err
db_user_update(struct db *db, long long uid, const struct profile *p,
    struct user *u, const char *rid)
{
	char		 id[24];
	const char	*vals[1 + PF__MAX];
	PGresult	*res;
	enum err	 er;
	size_t		 i;

	snprintf(id, sizeof(id), "%lld", uid);
	vals[0] = id;
	for (i = 0; i < PF__MAX; i++)
		vals[1 + i] = p->v[i];
	if ((er = run(db, &st_user_update, 1 + PF__MAX, vals, NULL, NULL, &res,
	    rid)) != ERR_OK)
		return er;
	return one_user(res, u, "user_update", rid);
}

static const struct stmt st_user_phone = { "user_phone",
	"UPDATE users SET phone_number = $2, pure_phone_number = $3,"
	" country_code = $4, updated_at = now()"
	" WHERE id = $1"
	" RETURNING " USER_COLS("users"), 0, NULL };

enum err
db_user_phone(struct db *db, long long uid, const struct phone *ph,
    struct user *u, const char *rid)
{
	char		 id[24];
	const char	*vals[4] = { id, ph->number, ph->pure, ph->country_code };
	PGresult	*res;
	enum err	 er;

	snprintf(id, sizeof(id), "%lld", uid);
	if ((er = run(db, &st_user_phone, 4, vals, NULL, NULL, &res, rid)) !=
	    ERR_OK)
		return er;
	return one_user(res, u, "user_phone", rid);
}

/* ---- avatars --------------------------------------------------------------- */

/*
 * Store the image once (its id is a hash of its bytes: a second upload of
 * it stores nothing) and point the user's avatar_url at it, in one
 * statement.
 */
static const struct stmt st_avatar_set = { "avatar_set",
	"WITH a AS ("
	" INSERT INTO avatars (id, content_type, data) VALUES ($2, $3, $4)"
	" ON CONFLICT (id) DO NOTHING"
	")"
	" UPDATE users SET avatar_url = $5, updated_at = now()"
	" WHERE id = $1::bigint"
	" RETURNING " USER_COLS("users"), 0, NULL };

enum err
db_avatar_set(struct db *db, long long uid, const char *id, const char *ctype,
    const uint8_t *data, size_t len, const char *url, struct user *u,
    const char *rid)
{
	char		 uids[24];
	const char	*vals[5] = { uids, id, ctype, (const char *)data, url };
	int		 lens[5] = { 0, 0, 0, (int)len, 0 };
	int		 fmts[5] = { 0, 0, 0, 1, 0 };
	PGresult	*res;
	enum err	 er;

	snprintf(uids, sizeof(uids), "%lld", uid);
	if ((er = run(db, &st_avatar_set, 5, vals, lens, fmts, &res, rid)) !=
	    ERR_OK)
		return er;
	return one_user(res, u, "avatar_set", rid);
}

static const struct stmt st_avatar_get = { "avatar_get",
	"SELECT content_type, data FROM avatars WHERE id = $1", 1, NULL };

enum err
db_avatar_get(struct db *db, const char *id, char *ctype, size_t ctsz,
    struct buf *data, const char *rid)
{
	const char	*vals[1] = { id };
	unsigned char	*b;
	PGresult	*res;
	enum err	 er;
	size_t		 n;

	if ((er = run(db, &st_avatar_get, 1, vals, NULL, NULL, &res, rid)) !=
	    ERR_OK)
		return er;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return ERR_NOT_FOUND;
	}
	snprintf(ctype, ctsz, "%s", PQgetvalue(res, 0, 0));
	b = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1), &n);
	PQclear(res);
	if (b == NULL)
		return ERR_INTERNAL;
	er = buf_add(data, b, n) == 0 ? ERR_OK : ERR_INTERNAL;
	PQfreemem(b);
	return er;
}

/* ---- the shared access_token ------------------------------------------ */

static const struct stmt st_token_get = { "token_get",
	"SELECT token_enc, key_id,"
	" floor(extract(epoch FROM expires_at - now()))::bigint,"
	" ceil(extract(epoch FROM expires_at - fetched_at))::bigint"
	" FROM wx_access_tokens WHERE appid = $1", 1, NULL };

/* Read st_token_get's row (if any) into out. */
static int
row_token(const PGresult *res, struct db_token *out)
{
	memset(out, 0, sizeof(*out));
	if (PQntuples(res) != 1 || PQnfields(res) != 4)
		return 0;
	row_sealed(res, 0, 0, &out->tok);
	out->ttl = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	out->lifetime = strtol(PQgetvalue(res, 0, 3), NULL, 10);
	return out->tok.len > 0;
}

enum err
db_token_get(struct db *db, const char *appid, struct db_token *out,
    int *found, const char *rid)
{
	const char	*vals[1] = { appid };
	PGresult	*res;
	enum err	 er;

	*found = 0;
	if ((er = run(db, &st_token_get, 1, vals, NULL, NULL, &res, rid)) !=
	    ERR_OK)
		return er;
	*found = row_token(res, out);
	PQclear(res);
	return ERR_OK;
}

static const struct stmt st_token_expire = { "token_expire",
	"UPDATE wx_access_tokens SET expires_at = LEAST(expires_at, now())"
	" WHERE appid = $1 AND token_enc = $2", 0, NULL };

enum err
db_token_expire(struct db *db, const char *appid, const struct sealed *failed,
    const char *rid)
{
	const char	*vals[2] = { appid, (const char *)failed->b };
	int		 lens[2] = { 0, (int)failed->len };
	int		 fmts[2] = { 0, 1 };
	PGresult	*res;
	enum err	 er;

	if ((er = run(db, &st_token_expire, 2, vals, lens, fmts, &res, rid)) ==
	    ERR_OK)
		PQclear(res);
	return er;
}

static const struct stmt st_token_put = { "token_put",
	"INSERT INTO wx_access_tokens (appid, token_enc, key_id, expires_at)"
	" VALUES ($1, $2, $3, now() + make_interval(secs => $4::int))"
	" ON CONFLICT (appid) DO UPDATE SET token_enc = EXCLUDED.token_enc,"
	"  key_id = EXCLUDED.key_id, expires_at = EXCLUDED.expires_at,"
	"  fetched_at = now()", 0, NULL };

/* The refresh lock's key: one per appid, in a namespace of our own. */
#define TOKEN_LOCK_SPACE	"7806"	/* "wx" */

/* Run one statement of the refresh transaction on c; clears the result. */
static enum err
tx(struct dbconn *c, const char *name, const char *sql, int n,
    const char *const *vals, const int *lens, const int *fmts,
    PGresult **keep, const char *rid)
{
	PGresult	*res;
	enum err	 er;

	if ((er = exec(c, name, sql, n, vals, lens, fmts, &res, rid)) != ERR_OK)
		return er;
	if (keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return ERR_OK;
}

enum err
db_token_refresh(struct db *db, const char *appid, int wait, long lock_ms,
    long min_ttl, db_token_fetch fetch, void *arg, struct db_token *out,
    int *got, const char *rid)
{
	struct dbconn	*c;
	struct db_token	 cur;
	PGresult	*res;
	char		 lt[32], secs[24];
	const char	*lock[2] = { TOKEN_LOCK_SPACE, appid };
	const char	*getv[1] = { appid };
	const char	*put[4];
	int		 putl[4] = { 0, 0, 0, 0 }, putf[4] = { 0, 1, 0, 0 };
	const char	*ltv[1] = { lt };
	long		 lifetime;
	enum err	 er;

	*got = 0;
	snprintf(lt, sizeof(lt), "%ldms", lock_ms);
	if ((er = db_acquire(db, &c, rid)) != ERR_OK)
		return er;
	if ((er = tx(c, "token_begin", "BEGIN", 0, NULL, NULL, NULL, NULL,
	    rid)) != ERR_OK)
		goto out;
	if ((er = tx(c, "token_lock_timeout",
	    "SELECT set_config('lock_timeout', $1, true)", 1, ltv, NULL, NULL,
	    NULL, rid)) != ERR_OK)
		goto rollback;
	/* The lock wait has its own bound (lock_timeout), not ours. */
	if ((er = exec_ms(c, "token_lock", NULL, wait ?
	    "SELECT pg_advisory_xact_lock($1::int, hashtext($2)), true" :
	    "SELECT pg_try_advisory_xact_lock($1::int, hashtext($2))",
	    2, lock, NULL, NULL, lock_ms + CANCEL_GRACE_MS, &res, rid)) !=
	    ERR_OK) {
		/* lock_timeout: the refresher is stuck on WeChat, not on us. */
		if (er == ERR_UNAVAILABLE && !c->broken)
			er = ERR_UPSTREAM_TIMEOUT;
		goto rollback;
	}
	if (PQntuples(res) != 1 ||
	    strcmp(PQgetvalue(res, 0, PQnfields(res) - 1), "t") != 0) {
		PQclear(res);
		goto rollback;	/* another process is refreshing: er is OK */
	}
	PQclear(res);
	if ((er = tx(c, st_token_get.name, st_token_get.sql, 1, getv, NULL,
	    NULL, &res, rid)) != ERR_OK)
		goto rollback;
	if (row_token(res, &cur) && cur.ttl > min_ttl) {
		PQclear(res);
		*out = cur;	/* refreshed while we waited for the lock */
		*got = 1;
		er = tx(c, "token_commit", "COMMIT", 0, NULL, NULL, NULL, NULL,
		    rid);
		goto out;
	}
	PQclear(res);
	if ((er = fetch(arg, &out->tok, &lifetime)) != ERR_OK)
		goto rollback;
	snprintf(secs, sizeof(secs), "%ld", lifetime);
	put[0] = appid;
	put[1] = (const char *)out->tok.b;
	putl[1] = (int)out->tok.len;
	put[2] = out->tok.kid;
	put[3] = secs;
	if ((er = tx(c, st_token_put.name, st_token_put.sql, 4, put, putl, putf,
	    NULL, rid)) != ERR_OK ||
	    (er = tx(c, "token_commit", "COMMIT", 0, NULL, NULL, NULL, NULL,
	    rid)) != ERR_OK)
		goto out;
	out->ttl = out->lifetime = lifetime;
	*got = 1;
	goto out;
rollback:
	if (!c->broken)
		(void)tx(c, "token_rollback", "ROLLBACK", 0, NULL, NULL, NULL,
		    NULL, rid);
out:
	if (er != ERR_OK && !*got && PQtransactionStatus(c->pg) !=
	    PQTRANS_IDLE && !c->broken)
		(void)tx(c, "token_rollback", "ROLLBACK", 0, NULL, NULL, NULL,
		    NULL, rid);
	db_release(db, c);
	if (!*got)
		memset(out, 0, sizeof(*out));
	return er;
}

/* ---- rate limits --------------------------------------------------------- */

/* Count n events (migrations/0007, wxauth_limit_add). */
static const struct stmt st_limit_add = { "limit_add",
	"SELECT * FROM wxauth_limit_add($1::text, $2::int, $3::int)", 0, NULL };

enum err
db_limit_add(struct db *db, const char *key, long window, long n,
    long *count, long *retry_after, const char *rid)
{
	char		 w[24], nb[24];
	const char	*vals[3] = { key, w, nb };
	PGresult	*res;
	enum err	 er;

	snprintf(w, sizeof(w), "%ld", window);
	snprintf(nb, sizeof(nb), "%ld", n);
	if ((er = run(db, &st_limit_add, 3, vals, NULL, NULL, &res, rid)) !=
	    ERR_OK)
		return er;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return ERR_INTERNAL;
	}
	*count = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	*retry_after = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return ERR_OK;
}

static const struct stmt st_limit_undo = { "limit_undo",
	"UPDATE rate_counters SET n = n - 1"
	" WHERE key = $1 AND window_start = " WINDOW_START("$2::int")
	" AND n > 0", 0, NULL };

enum err
db_limit_undo(struct db *db, const char *key, long window, const char *rid)
{
	char		 w[24];
	const char	*vals[2] = { key, w };
	PGresult	*res;
	enum err	 er;

	snprintf(w, sizeof(w), "%ld", window);
	if ((er = run(db, &st_limit_undo, 2, vals, NULL, NULL, &res, rid)) ==
	    ERR_OK)
		PQclear(res);
	return er;
}

/* ---- maintenance --------------------------------------------------------- */

/*
 * One purge at a time across all hosts (a transaction-scoped advisory lock,
 * tried, not waited for), in bounded batches so that no statement runs long.
 */
static const struct stmt st_purge = { "purge",
	"WITH l AS (SELECT pg_try_advisory_xact_lock(7806, 2) AS got),"
	" s AS (DELETE FROM sessions WHERE token_hash IN ("
	"  SELECT token_hash FROM sessions, l WHERE l.got AND (expires_at <= now()"
	"   OR last_seen <= now() - make_interval(secs => $1::int))"
	"  LIMIT $2::int) RETURNING 1),"
	" r AS (DELETE FROM rate_counters WHERE (key, window_start) IN ("
	"  SELECT key, window_start FROM rate_counters, l WHERE l.got"
	"   AND window_start < now() - interval '2 days' LIMIT $2::int)"
	"  RETURNING 1)"
	" SELECT (SELECT got FROM l), (SELECT count(*) FROM s),"
	" (SELECT count(*) FROM r)", 0, NULL };

enum err
db_purge(struct db *db, long idle, long batch, long *sessions, long *counters,
    int *locked, const char *rid)
{
	char		 si[24], sb[24];
	const char	*vals[2] = { si, sb };
	PGresult	*res;
	enum err	 er;

	*sessions = *counters = 0;
	*locked = 0;
	snprintf(si, sizeof(si), "%ld", idle);
	snprintf(sb, sizeof(sb), "%ld", batch);
	if ((er = run(db, &st_purge, 2, vals, NULL, NULL, &res, rid)) !=
	    ERR_OK)
		return er;
	if (PQntuples(res) == 1) {
		*locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		*sessions = strtol(PQgetvalue(res, 0, 1), NULL, 10);
		*counters = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	}
	PQclear(res);
	return ERR_OK;
}

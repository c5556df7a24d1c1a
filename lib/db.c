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

#include "db.h"
#include "log.h"

#define DOWN_BACKOFF_MS	250	/* after a failed connect, fail fast this long */

struct dbconn {
	PGconn	*pg;
	int	 busy;
	int	 broken;	/* the last statement lost the connection */
};

struct db {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		*conninfo;
	long		 wait_ms;
	long long	 down_until;	/* monotonic ms; guarded by mu */
	size_t		 n;
	struct dbconn	 c[];
};

/* A statement: its SQL and whether it may be retried (it only reads). */
struct stmt {
	const char	*name;
	const char	*sql;
	int		 retry;
};

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct db *
db_open(const char *conninfo, size_t size, long wait_ms)
{
	struct db		*db;
	pthread_condattr_t	 ca;

	if (size == 0 || size > 1024 || conninfo == NULL)
		return NULL;
	if ((db = calloc(1, sizeof(*db) + size * sizeof(db->c[0]))) == NULL ||
	    (db->conninfo = strdup(conninfo)) == NULL)
		abort();
	db->n = size;
	db->wait_ms = wait_ms;
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

/* Make a borrowed connection usable: connect, or reset a dead one. */
static enum err
ready(struct db *db, struct dbconn *c, const char *rid)
{
	int	 fresh = 0;

	if (c->pg != NULL && !c->broken && !is_stale(c->pg))
		return ERR_OK;
	pthread_mutex_lock(&db->mu);
	if (now_ms() < db->down_until) {
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
		return ERR_OK;
	}
	log_pq(LOG_WARN, rid, "cannot connect", c->pg);
	PQfinish(c->pg);
	c->pg = NULL;
	pthread_mutex_lock(&db->mu);
	db->down_until = now_ms() + DOWN_BACKOFF_MS;
	pthread_mutex_unlock(&db->mu);
	return ERR_UNAVAILABLE;
}

enum err
db_acquire(struct db *db, struct dbconn **out, const char *rid)
{
	struct timespec	 dl;
	struct dbconn	*c = NULL;
	enum err	 er;
	size_t		 i;
	int		 rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += db->wait_ms / 1000;
	dl.tv_nsec += (db->wait_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
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
	if ((er = ready(db, c, rid)) != ERR_OK) {
		db_release(db, c);
		return er;
	}
	*out = c;
	return ERR_OK;
}

void
db_release(struct db *db, struct dbconn *c)
{
	pthread_mutex_lock(&db->mu);
	c->busy = 0;
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
	    strcmp(st, "25006") == 0;		/* read-only transaction */
}

/*
 * Run sql with n parameters (text, except those with a length in lens,
 * which are binary) and return its result in *res (caller clears it).
 */
static enum err
exec(struct dbconn *c, const char *name, const char *sql, int n,
    const char *const *vals, const int *lens, const int *fmts, PGresult **res,
    const char *rid)
{
	ExecStatusType	 st;
	const char	*state, *prim;

	*res = PQexecParams(c->pg, sql, n, NULL, vals, lens, fmts, 0);
	st = PQresultStatus(*res);
	if (*res != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
		return ERR_OK;
	state = *res != NULL ? PQresultErrorField(*res, PG_DIAG_SQLSTATE) : NULL;
	prim = *res != NULL ? PQresultErrorField(*res, PG_DIAG_MESSAGE_PRIMARY) :
	    NULL;
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
 * Borrow a connection, run st, give it back.  A read-only statement that
 * lost its connection is retried once on a reset one.
 */
static enum err
run(struct db *db, const struct stmt *st, int n, const char *const *vals,
    const int *lens, const int *fmts, PGresult **res, const char *rid)
{
	struct dbconn	*c;
	enum err	 er;
	int		 tries = st->retry ? 2 : 1, broken;

	do {
		if ((er = db_acquire(db, &c, rid)) != ERR_OK)
			return er;
		er = exec(c, st->name, st->sql, n, vals, lens, fmts, res, rid);
		broken = c->broken;
		db_release(db, c);
	} while (er == ERR_UNAVAILABLE && broken && --tries > 0);
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

static const struct stmt st_ping = { "ping", "SELECT 1", 1 };

enum err
db_ping(struct db *db, const char *rid)
{
	PGresult	*res;
	enum err	 er;

	if ((er = run(db, &st_ping, 0, NULL, NULL, NULL, &res, rid)) == ERR_OK)
		PQclear(res);
	return er;
}

/*
 * The login in one statement.  xmax = 0 in RETURNING tells an inserted row
 * from an updated one; concurrent first logins of one openid serialise on
 * the unique index, so exactly one of them inserts.
 */
static const struct stmt st_login = { "login",
	"WITH u AS ("
	" INSERT INTO users AS x (openid, unionid, session_key)"
	" VALUES ($1, $2, $3)"
	" ON CONFLICT (openid) DO UPDATE SET"
	"  session_key = EXCLUDED.session_key,"
	"  unionid = COALESCE(EXCLUDED.unionid, x.unionid),"
	"  updated_at = now()"
	" RETURNING x.*, (x.xmax = 0) AS is_new"
	"), r AS ("
	" DELETE FROM sessions WHERE token_hash = $4"
	"), s AS ("
	" INSERT INTO sessions (token_hash, user_id, expires_at)"
	" SELECT $5, u.id, now() + make_interval(secs => $6::int) FROM u"
	")"
	" SELECT " USER_COLS("u") ", u.is_new FROM u", 0 };

enum err
db_login(struct db *db, const struct db_login *in, struct user *u,
    int *is_new, const char *rid)
{
	char		 ttl[24];
	const char	*vals[6];
	int		 lens[6] = { 0, 0, 0, SHA256_LEN, SHA256_LEN, 0 };
	int		 fmts[6] = { 0, 0, 0, 1, 1, 0 };
	PGresult	*res;
	enum err	 er;

	snprintf(ttl, sizeof(ttl), "%ld", in->ttl);
	vals[0] = in->openid;
	vals[1] = in->unionid;
	vals[2] = in->session_key;
	vals[3] = (const char *)in->old_hash;
	vals[4] = (const char *)in->new_hash;
	vals[5] = ttl;
	if ((er = run(db, &st_login, 6, vals, lens, fmts, &res, rid)) != ERR_OK)
		return er;
	if (PQntuples(res) != 1 || PQnfields(res) != USER_NCOLS + 1) {
		log_msg(LOG_ERROR, rid, "db: login: unexpected result shape");
		PQclear(res);
		return ERR_INTERNAL;
	}
	row_user(res, 0, u);
	*is_new = strcmp(PQgetvalue(res, 0, USER_NCOLS), "t") == 0;
	PQclear(res);
	return ERR_OK;
}

/*
 * Session lookup, expiry checks, the user row and the rare last-seen touch
 * in one round trip.  The UPDATE changes a row (and so writes) only when
 * last_seen is older than the touch interval; otherwise the statement
 * assigns no transaction id and commits nothing.
 */
static const struct stmt st_session_user = { "session_user",
	"WITH s AS ("
	" SELECT token_hash, user_id, expires_at, last_seen FROM sessions"
	" WHERE token_hash = $1 AND expires_at > now()"
	"  AND last_seen > now() - make_interval(secs => $2::int)"
	"), t AS ("
	" UPDATE sessions SET last_seen = now() FROM s"
	" WHERE sessions.token_hash = s.token_hash"
	"  AND s.last_seen <= now() - make_interval(secs => $3::int)"
	")"
	" SELECT " USER_COLS("u") ","
	" ceil(extract(epoch FROM LEAST(s.expires_at,"
	"  s.last_seen + make_interval(secs => $2::int)) - now()))::bigint"
	" FROM s JOIN users u ON u.id = s.user_id", 1 };

enum err
db_session_user(struct db *db, const uint8_t hash[SHA256_LEN], long idle,
    long touch, struct user *u, long *expires_in, const char *rid)
{
	char		 si[24], st[24];
	const char	*vals[3] = { (const char *)hash, si, st };
	int		 lens[3] = { SHA256_LEN, 0, 0 };
	int		 fmts[3] = { 1, 0, 0 };
	PGresult	*res;
	enum err	 er;

	snprintf(si, sizeof(si), "%ld", idle);
	snprintf(st, sizeof(st), "%ld", touch);
	if ((er = run(db, &st_session_user, 3, vals, lens, fmts, &res, rid)) !=
	    ERR_OK)
		return er;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return ERR_UNAUTHORIZED;
	}
	row_user(res, 0, u);
	*expires_in = strtol(PQgetvalue(res, 0, USER_NCOLS), NULL, 10);
	PQclear(res);
	return ERR_OK;
}

static const struct stmt st_session_revoke = { "session_revoke",
	"DELETE FROM sessions"
	" WHERE token_hash = $1 AND expires_at > now()"
	"  AND last_seen > now() - make_interval(secs => $2::int)"
	" RETURNING user_id", 0 };

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

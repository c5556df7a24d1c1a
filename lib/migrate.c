/*
 * migrate.c -- SQL statement splitting and the migration runner
 * (see migrate.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "migrate.h"

/* Any 64-bit constant unique to wxauth's migrations. */
#define MIGRATE_LOCK	"7812735620318466049"

/* Length of the dollar-quote tag ($tag$) at s, or 0 if there is none. */
static size_t
dollar_tag(const char *s, size_t n)
{
	size_t	 i;

	if (n < 2 || s[0] != '$')
		return 0;
	for (i = 1; i < n; i++) {
		if (s[i] == '$')
			return i + 1;
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_') ||
		    (i == 1 && isdigit((unsigned char)s[i])))
			return 0;
	}
	return 0;
}

int
sql_split(const char *s, size_t n,
    int (*cb)(const char *, size_t, void *), void *arg)
{
	size_t	 i = 0, start = 0, tl, depth;
	int	 content = 0, rc, esc;

	while (i < n) {
		if (s[i] == '-' && i + 1 < n && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
			for (depth = 1, i += 2; i < n && depth > 0; i++) {
				if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
					depth++;
					i++;
				} else if (s[i] == '*' && i + 1 < n &&
				    s[i + 1] == '/') {
					depth--;
					i++;
				}
			}
			if (depth > 0)
				return -1;
			continue;
		}
		if (s[i] == '\'' || s[i] == '"') {
			char q = s[i];
			esc = q == '\'' && i > 0 && (s[i - 1] == 'E' ||
			    s[i - 1] == 'e');
			for (i++; i < n; i++) {
				if (esc && s[i] == '\\') {
					i++;
					continue;
				}
				if (s[i] == q) {
					if (i + 1 < n && s[i + 1] == q) {
						i++;
						continue;
					}
					break;
				}
			}
			if (i >= n)
				return -1;
			i++;
			content = 1;
			continue;
		}
		if ((tl = dollar_tag(s + i, n - i)) > 0) {
			const char *body = s + i + tl, *end = NULL;
			size_t left = n - i - tl, k;
			for (k = 0; k + tl <= left; k++)
				if (memcmp(body + k, s + i, tl) == 0) {
					end = body + k;
					break;
				}
			if (end == NULL)
				return -1;
			i = (size_t)(end - s) + tl;
			content = 1;
			continue;
		}
		if (s[i] == ';') {
			if (content && (rc = cb(s + start, i - start, arg)) != 0)
				return rc;
			start = ++i;
			content = 0;
			continue;
		}
		if (!isspace((unsigned char)s[i]))
			content = 1;
		i++;
	}
	if (content && (rc = cb(s + start, n - start, arg)) != 0)
		return rc;
	return 0;
}

/* Is name a migration file: digits, '_', anything, ".sql"? */
static int
is_migration(const struct dirent *d)
{
	const char	*s = d->d_name;
	size_t		 n = strlen(s), i = 0;

	while (isdigit((unsigned char)s[i]))
		i++;
	return i > 0 && s[i] == '_' && n > 4 && n < 200 &&
	    strcmp(s + n - 4, ".sql") == 0;
}

static int
read_file(const char *path, struct buf *b)
{
	char	 chunk[8192];
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || buf_add(b, chunk, (size_t)r) == -1)
			break;
	}
	close(fd);
	return r == 0 ? 0 : -1;
}

struct mctx {
	struct dbconn	*c;
	enum err	 er;
};

static int
stmt_cb(const char *stmt, size_t len, void *arg)
{
	struct mctx	*m = arg;
	char		*sql;

	if ((sql = strndup(stmt, len)) == NULL)
		abort();
	m->er = db_exec(m->c, sql, 0, NULL, NULL, "migrate");
	free(sql);
	return m->er == ERR_OK ? 0 : 1;
}

/* Apply one file in its own transaction unless it was applied already. */
static enum err
apply(struct dbconn *c, const char *name, const struct buf *sql, int *done)
{
	const char	*v[1] = { name };
	struct mctx	 m = { c, ERR_OK };
	long		 rows = 0;
	enum err	 er;

	*done = 0;
	if ((er = db_exec(c, "BEGIN", 0, NULL, NULL, "migrate")) != ERR_OK)
		return er;
	if ((er = db_exec(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")",
	    0, NULL, NULL, "migrate")) != ERR_OK ||
	    (er = db_exec(c, "SELECT 1 FROM schema_migrations WHERE version = $1",
	    1, v, &rows, "migrate")) != ERR_OK)
		goto fail;
	if (rows > 0)
		return db_exec(c, "COMMIT", 0, NULL, NULL, "migrate");
	if (sql_split(sql->p, sql->len, stmt_cb, &m) != 0) {
		er = m.er != ERR_OK ? m.er : ERR_INTERNAL;
		goto fail;
	}
	if ((er = db_exec(c, "INSERT INTO schema_migrations (version) "
	    "VALUES ($1)", 1, v, NULL, "migrate")) != ERR_OK)
		goto fail;
	if ((er = db_exec(c, "COMMIT", 0, NULL, NULL, "migrate")) == ERR_OK)
		*done = 1;
	return er;
fail:
	(void)db_exec(c, "ROLLBACK", 0, NULL, NULL, "migrate");
	return er;
}

enum err
migrate_run(struct db *db, const char *dir, int *applied, char *msg,
    size_t msgsz)
{
	struct dirent	**ents = NULL;
	struct dbconn	*c = NULL;
	struct buf	 sql;
	char		 path[4096];
	enum err	 er;
	int		 n, i, done;

	*applied = 0;
	buf_init(&sql, MIGRATION_MAX);
	if ((n = scandir(dir, &ents, is_migration, alphasort)) == -1) {
		snprintf(msg, msgsz, "cannot read migrations directory %s", dir);
		return ERR_INTERNAL;
	}
	if ((er = db_acquire(db, &c, "migrate")) != ERR_OK) {
		snprintf(msg, msgsz, "cannot reach the database");
		goto out;
	}
	/* The bookkeeping table itself, created under the same lock. */
	if ((er = db_exec(c, "BEGIN", 0, NULL, NULL, "migrate")) != ERR_OK ||
	    (er = db_exec(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")",
	    0, NULL, NULL, "migrate")) != ERR_OK ||
	    (er = db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, "
	    "applied_at timestamptz NOT NULL DEFAULT now())",
	    0, NULL, NULL, "migrate")) != ERR_OK ||
	    (er = db_exec(c, "COMMIT", 0, NULL, NULL, "migrate")) != ERR_OK) {
		(void)db_exec(c, "ROLLBACK", 0, NULL, NULL, "migrate");
		snprintf(msg, msgsz, "cannot create schema_migrations");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		buf_reset(&sql);
		if (read_file(path, &sql) == -1) {
			snprintf(msg, msgsz, "cannot read %s (at most %d bytes)",
			    path, MIGRATION_MAX);
			er = ERR_INTERNAL;
			goto out;
		}
		if ((er = apply(c, ents[i]->d_name, &sql, &done)) != ERR_OK) {
			snprintf(msg, msgsz, "migration %s failed",
			    ents[i]->d_name);
			goto out;
		}
		if (done) {
			log_msg(LOG_INFO, NULL, "migrate: applied %s",
			    ents[i]->d_name);
			(*applied)++;
		}
	}
out:
	if (c != NULL)
		db_release(db, c);
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	buf_free(&sql);
	return er;
}

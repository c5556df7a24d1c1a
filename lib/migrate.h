/*
 * migrate.h -- the schema migration runner.
 *
 * Migrations are the files NNNN_name.sql of a directory, applied in name
 * order, each in its own transaction, and recorded in schema_migrations.
 * Several processes may run it at once: each transaction first takes a
 * transaction-scoped advisory lock (so this also works through PgBouncer's
 * transaction pooling), then checks whether the file was applied.
 */
#ifndef WXAUTH_MIGRATE_H
#define WXAUTH_MIGRATE_H

#include <stddef.h>

#include "db.h"

#define MIGRATION_MAX	(1024 * 1024)	/* largest migration file */

/*
 * Call cb for each statement of the n bytes of SQL at s, split at
 * semicolons outside quotes, dollar quotes and comments.  A statement is
 * passed without its semicolon; statements holding only whitespace and
 * comments are skipped.  Returns 0; -1 if the text ends inside a quote or
 * comment; or cb's first non-zero return.
 */
int	sql_split(const char *s, size_t n,
	    int (*cb)(const char *stmt, size_t len, void *arg), void *arg);

/*
 * Apply the pending migrations of dir.  Sets *applied to how many were
 * applied now.  Returns ERR_OK, or an error with a message in msg.
 */
enum err	migrate_run(struct db *db, const char *dir, int *applied,
		    char *msg, size_t msgsz);

#endif

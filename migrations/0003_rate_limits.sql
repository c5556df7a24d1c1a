-- 0003: rate-limit counters (lib/limit.h).  One row per key and fixed
-- window; UNLOGGED: losing them in a crash only forgets some counts, and
-- they cost no WAL flush on the request path.  Old windows are purged by
-- `wxauth purge` (run by every worker now and then, one at a time).
CREATE UNLOGGED TABLE rate_counters (
	key		text NOT NULL,
	window_start	timestamptz NOT NULL,
	n		integer NOT NULL,
	PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_window_start ON rate_counters (window_start);

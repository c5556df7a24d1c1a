-- 0007: what makes a session live, written once; check_session without the
-- user row; rate-limit counts added in batches.
--
-- wxauth_session_live is the one definition of a live session (lib/db.h):
-- the token hash exists, has not reached its absolute expiry, and was seen
-- within p_idle seconds; with the seconds it has left and whether its
-- last_seen is older than p_touch seconds (the touch is due).  A SQL
-- function of one SELECT, so the planner inlines it into the queries that
-- use it: it costs nothing over writing the query out.
--
-- check_session (without remote=1) needs no more than that: one index
-- lookup in sessions, where 0006's read also fetches and formats the user
-- (`make bench`: about a quarter of PostgreSQL's time for the read).
-- wxauth_session_read is redefined on wxauth_session_live, with the same
-- columns, so workers of the previous release keep working during a
-- rolling upgrade.

CREATE FUNCTION wxauth_session_live(p_hash bytea, p_idle int, p_touch int)
RETURNS TABLE (user_id bigint, expires_in bigint, stale boolean)
LANGUAGE sql STABLE AS $$
	SELECT s.user_id,
	 ceil(extract(epoch FROM LEAST(s.expires_at,
	  s.last_seen + make_interval(secs => p_idle)) - now()))::bigint,
	 s.last_seen <= now() - make_interval(secs => p_touch)
	FROM sessions s
	WHERE s.token_hash = p_hash AND s.expires_at > now()
	 AND s.last_seen > now() - make_interval(secs => p_idle)
$$;

-- check_session's read: the same as a PL/pgSQL function, whose plan the
-- server connection keeps (sent as text through PgBouncer, a query on the
-- SQL function would be planned on every call).
CREATE FUNCTION wxauth_session_check(p_hash bytea, p_idle int, p_touch int)
RETURNS TABLE (user_id bigint, expires_in bigint, stale boolean)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT * FROM wxauth_session_live(p_hash, p_idle, p_touch);
END
$$;

CREATE OR REPLACE FUNCTION wxauth_session_read(p_hash bytea, p_idle int,
	p_touch int)
RETURNS TABLE (id bigint, gender smallint, openid text, unionid text,
	nick_name text, province text, city text, country text,
	avatar_url text, language text, phone_number text,
	pure_phone_number text, country_code text, created_at text,
	updated_at text, expires_in bigint, stale boolean)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT u.id, u.gender, u.openid, u.unionid, u.nick_name, u.province,
	 u.city, u.country, u.avatar_url, u.language, u.phone_number,
	 u.pure_phone_number, u.country_code,
	 to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 l.expires_in, l.stale
	FROM wxauth_session_live(p_hash, p_idle, p_touch) l
	JOIN users u ON u.id = l.user_id;
END
$$;

-- n events counted against a limit at once (lib/limit.h: a worker counts
-- the logins per address ahead of the database and adds them in batches):
-- the count in the current window of p_window seconds, and the seconds left
-- in it.
CREATE FUNCTION wxauth_limit_add(p_key text, p_window int, p_n int)
RETURNS TABLE (n integer, retry integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	INSERT INTO rate_counters AS r (key, window_start, n)
	VALUES (p_key, to_timestamp(floor(extract(epoch FROM now())
	 / p_window) * p_window), p_n)
	ON CONFLICT (key, window_start) DO UPDATE SET n = r.n + EXCLUDED.n
	RETURNING r.n, GREATEST(1, ceil(extract(epoch FROM r.window_start
	 + make_interval(secs => p_window) - now())))::int;
END
$$;

-- 0004's one-at-a-time count, for workers of the previous release, now
-- counted by the same statement.
CREATE OR REPLACE FUNCTION wxauth_limit_hit(p_key text, p_window int)
RETURNS TABLE (n integer, retry integer)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT * FROM wxauth_limit_add(p_key, p_window, 1);
END
$$;

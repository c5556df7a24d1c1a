-- 0004: the statements of the hot path as PL/pgSQL functions.
--
-- Sent as text, each of these statements cost PostgreSQL about 0.26 ms to
-- parse and plan and 0.04 ms to run (pg_stat_statements, `make bench`):
-- most of an authenticated read.  A PL/pgSQL function keeps the plans of
-- its queries for the life of the server connection, so the worker's
-- PQexecParams call plans only `SELECT * FROM f($1, ...)`.  This also works
-- through PgBouncer's transaction pooling, which protocol-level prepared
-- statements (PgBouncer 1.18) do not.  The queries are those lib/db.c used
-- to send; lib/db.c reads the same columns in the same order.

-- The user behind a live session, the seconds it has left, and the touch
-- of last_seen when it is older than p_touch seconds (see lib/db.h).
CREATE FUNCTION wxauth_session_user(p_hash bytea, p_idle int, p_touch int)
RETURNS TABLE (id bigint, gender smallint, openid text, unionid text,
	nick_name text, province text, city text, country text,
	avatar_url text, language text, phone_number text,
	pure_phone_number text, country_code text, created_at text,
	updated_at text, expires_in bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH s AS (
		SELECT token_hash, user_id, expires_at, last_seen FROM sessions
		WHERE token_hash = p_hash AND expires_at > now()
		 AND last_seen > now() - make_interval(secs => p_idle)
	), t AS (
		UPDATE sessions SET last_seen = now() FROM s
		WHERE sessions.token_hash = s.token_hash
		 AND s.last_seen <= now() - make_interval(secs => p_touch)
	)
	SELECT u.id, u.gender, u.openid, u.unionid, u.nick_name, u.province,
	 u.city, u.country, u.avatar_url, u.language, u.phone_number,
	 u.pure_phone_number, u.country_code,
	 to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 ceil(extract(epoch FROM LEAST(s.expires_at,
	  s.last_seen + make_interval(secs => p_idle)) - now()))::bigint
	FROM s JOIN users u ON u.id = s.user_id;
END
$$;

-- The same, with the sealed session_key and this session's decrypt
-- failures in the current window of p_window seconds (counter p_key).
CREATE FUNCTION wxauth_session_user_key(p_hash bytea, p_idle int,
	p_touch int, p_key text, p_window int)
RETURNS TABLE (id bigint, gender smallint, openid text, unionid text,
	nick_name text, province text, city text, country text,
	avatar_url text, language text, phone_number text,
	pure_phone_number text, country_code text, created_at text,
	updated_at text, expires_in bigint, session_key_enc bytea,
	session_key_kid text, fails integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH s AS (
		SELECT token_hash, user_id, expires_at, last_seen FROM sessions
		WHERE token_hash = p_hash AND expires_at > now()
		 AND last_seen > now() - make_interval(secs => p_idle)
	), t AS (
		UPDATE sessions SET last_seen = now() FROM s
		WHERE sessions.token_hash = s.token_hash
		 AND s.last_seen <= now() - make_interval(secs => p_touch)
	)
	SELECT u.id, u.gender, u.openid, u.unionid, u.nick_name, u.province,
	 u.city, u.country, u.avatar_url, u.language, u.phone_number,
	 u.pure_phone_number, u.country_code,
	 to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 ceil(extract(epoch FROM LEAST(s.expires_at,
	  s.last_seen + make_interval(secs => p_idle)) - now()))::bigint,
	 u.session_key_enc, u.session_key_kid,
	 COALESCE((SELECT n FROM rate_counters WHERE key = p_key
	  AND window_start = to_timestamp(floor(extract(epoch FROM now())
	  / p_window) * p_window)), 0)
	FROM s JOIN users u ON u.id = s.user_id;
END
$$;

-- The login (see lib/db.h): the per-openid limit's count (none when p_key
-- is NULL), then, within p_limit, the user upsert, the revocation of the
-- presented token and the new session.  One row: the user's columns (NULLs
-- when over the limit), is_new, the count and the seconds left in its
-- window.
CREATE FUNCTION wxauth_login(p_openid text, p_unionid text, p_key_enc bytea,
	p_old_hash bytea, p_new_hash bytea, p_ttl int, p_kid text,
	p_limit_key text, p_limit int, p_window int)
RETURNS TABLE (id bigint, gender smallint, openid text, unionid text,
	nick_name text, province text, city text, country text,
	avatar_url text, language text, phone_number text,
	pure_phone_number text, country_code text, created_at text,
	updated_at text, is_new boolean, n integer, retry integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH l AS (
		INSERT INTO rate_counters AS r (key, window_start, n)
		SELECT p_limit_key, to_timestamp(floor(extract(epoch FROM now())
		 / p_window) * p_window), 1
		WHERE p_limit_key IS NOT NULL
		ON CONFLICT (key, window_start) DO UPDATE SET n = r.n + 1
		RETURNING r.n, GREATEST(1, ceil(extract(epoch FROM r.window_start
		 + make_interval(secs => p_window) - now())))::int AS retry
	), ok AS (
		SELECT 1 WHERE p_limit_key IS NULL OR
		 (SELECT l.n FROM l) <= p_limit
	), u AS (
		INSERT INTO users AS x (openid, unionid, session_key_enc,
		 session_key_kid)
		SELECT p_openid, p_unionid, p_key_enc, p_kid FROM ok
		ON CONFLICT (openid) DO UPDATE SET
		 session_key_enc = EXCLUDED.session_key_enc,
		 session_key_kid = EXCLUDED.session_key_kid,
		 unionid = COALESCE(EXCLUDED.unionid, x.unionid),
		 updated_at = now()
		RETURNING x.*, (x.xmax = 0) AS is_new
	), r AS (
		DELETE FROM sessions WHERE token_hash = p_old_hash
		 AND EXISTS (SELECT 1 FROM ok)
	), s AS (
		INSERT INTO sessions (token_hash, user_id, expires_at)
		SELECT p_new_hash, u.id, now() + make_interval(secs => p_ttl)
		FROM u
	)
	SELECT u.id, u.gender, u.openid, u.unionid, u.nick_name, u.province,
	 u.city, u.country, u.avatar_url, u.language, u.phone_number,
	 u.pure_phone_number, u.country_code,
	 to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	 u.is_new, l.n, l.retry
	FROM (SELECT 1) one LEFT JOIN u ON true LEFT JOIN l ON true;
END
$$;

-- One event counted against a limit (lib/limit.h): the count in the fixed
-- window of p_window seconds now falls in, and the seconds left in it.
CREATE FUNCTION wxauth_limit_hit(p_key text, p_window int)
RETURNS TABLE (n integer, retry integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	INSERT INTO rate_counters AS r (key, window_start, n)
	VALUES (p_key, to_timestamp(floor(extract(epoch FROM now())
	 / p_window) * p_window), 1)
	ON CONFLICT (key, window_start) DO UPDATE SET n = r.n + 1
	RETURNING r.n, GREATEST(1, ceil(extract(epoch FROM r.window_start
	 + make_interval(secs => p_window) - now())))::int;
END
$$;

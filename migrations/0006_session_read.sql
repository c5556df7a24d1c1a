-- 0006: the session read without a write in it.
--
-- 0004's wxauth_session_user(_key) carried the last-seen touch as a
-- data-modifying CTE: every read then planned and set up an UPDATE that ran
-- about once a minute per session.  These read only, and say whether the
-- touch is due (stale); lib/db.c then sends the touch as a statement of its
-- own, at most once per touch interval per session.  Prepared (lib/db.c,
-- direct connections) a read costs PostgreSQL about 15 % less this way.
-- 0004's functions stay for workers of the previous release during a
-- rolling upgrade; a later migration drops them.

-- The user behind a live session, the seconds it has left, and whether its
-- last_seen is older than p_touch seconds (see lib/db.h).  At most one row
-- (ROWS 1): a caller joining it to users then plans an index lookup, not a
-- scan of users for the 1000 rows a set-returning function is assumed to
-- return.
CREATE FUNCTION wxauth_session_read(p_hash bytea, p_idle int, p_touch int)
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
	 ceil(extract(epoch FROM LEAST(s.expires_at,
	  s.last_seen + make_interval(secs => p_idle)) - now()))::bigint,
	 s.last_seen <= now() - make_interval(secs => p_touch)
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE s.token_hash = p_hash AND s.expires_at > now()
	 AND s.last_seen > now() - make_interval(secs => p_idle);
END
$$;

-- The same, with the sealed session_key and this session's decrypt
-- failures in the current window of p_window seconds (counter p_key).
CREATE FUNCTION wxauth_session_read_key(p_hash bytea, p_idle int,
	p_touch int, p_key text, p_window int)
RETURNS TABLE (id bigint, gender smallint, openid text, unionid text,
	nick_name text, province text, city text, country text,
	avatar_url text, language text, phone_number text,
	pure_phone_number text, country_code text, created_at text,
	updated_at text, expires_in bigint, stale boolean,
	session_key_enc bytea, session_key_kid text, fails integer)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT r.*, u.session_key_enc, u.session_key_kid,
	 COALESCE((SELECT n FROM rate_counters WHERE key = p_key
	  AND window_start = to_timestamp(floor(extract(epoch FROM now())
	  / p_window) * p_window)), 0)
	FROM wxauth_session_read(p_hash, p_idle, p_touch) r
	JOIN users u ON u.id = r.id;
END
$$;

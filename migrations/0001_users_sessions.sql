-- 0001: users (one per openid) and their sessions.
--
-- A session is stored by the SHA-256 of its token only: a dump of this
-- table cannot be replayed.  expires_at is absolute (login + TTL); the idle
-- timeout is checked against last_seen, which reads refresh at most once a
-- minute (see lib/db.c).

CREATE TABLE users (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	openid			text NOT NULL UNIQUE,
	unionid			text,
	session_key		text NOT NULL,
	nick_name		text,
	gender			smallint CHECK (gender IN (0, 1, 2)),
	province		text,
	city			text,
	country			text,
	avatar_url		text,
	language		text,
	phone_number		text,
	pure_phone_number	text,
	country_code		text,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
	token_hash	bytea PRIMARY KEY CHECK (length(token_hash) = 32),
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

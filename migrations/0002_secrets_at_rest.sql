-- 0002: secrets at rest, and the access_token every worker shares.
--
-- The WeChat session_key is kept sealed (AES-256-GCM under the server's
-- WXAUTH_DATA_KEY, lib/seal.h): session_key_enc is IV || ciphertext || tag,
-- session_key_kid the id of the key that sealed it.  A dump of the database
-- reveals no session_key.  Keys stored in plaintext by 0001 are dropped, not
-- converted (SQL has no key): those users get decrypt_failed until their
-- next login, which is what the client does on decrypt_failed anyway.

ALTER TABLE users
	ADD COLUMN session_key_enc bytea,
	ADD COLUMN session_key_kid text,
	ADD CONSTRAINT users_session_key_sealed CHECK
		((session_key_enc IS NULL) = (session_key_kid IS NULL));
ALTER TABLE users DROP COLUMN session_key;

-- One row per appid: the access_token from stable_token, sealed like the
-- session_key, and when it expires.  Refreshed by one process at a time
-- under a transaction-scoped advisory lock (lib/token.c), which also works
-- through PgBouncer's transaction pooling.
CREATE TABLE wx_access_tokens (
	appid		text PRIMARY KEY,
	token_enc	bytea NOT NULL,
	key_id		text NOT NULL,
	expires_at	timestamptz NOT NULL,
	fetched_at	timestamptz NOT NULL DEFAULT now()
);

-- 0005: avatar images uploaded with POST /api/user/avatar (lib/avatar.h).
--
-- One row per distinct image: id is a keyed hash of the bytes, so the same
-- image uploaded by many users is stored once, and ids cannot be guessed.
-- Rows are never updated (GET /api/avatar/<id> is cacheable for ever).
CREATE TABLE avatars (
	id		text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
	content_type	text NOT NULL CHECK (content_type IN
			 ('image/jpeg', 'image/png', 'image/gif', 'image/webp')),
	data		bytea NOT NULL CHECK (length(data) BETWEEN 1 AND 1048576),
	created_at	timestamptz NOT NULL DEFAULT now()
);

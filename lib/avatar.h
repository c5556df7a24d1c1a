/*
 * avatar.h -- the avatar images users upload (POST /api/user/avatar):
 * what they are, told by their bytes, and the id they are stored under.
 */
#ifndef WXAUTH_AVATAR_H
#define WXAUTH_AVATAR_H

#include <stddef.h>
#include <stdint.h>

#include "multipart.h"
#include "seal.h"

#define AVATAR_MAX	(1024 * 1024)	/* bytes of image, at most */
#define AVATAR_ID_LEN	32		/* hex characters */
#define AVATAR_PATH	"/api/avatar/"
/* The upload's body: the image and what multipart wraps around it. */
#define AVATAR_BODY_MAX	(AVATAR_MAX + 16 * 1024)

/*
 * The content type of an image by its first bytes: JPEG, PNG, GIF (87a,
 * 89a) or WebP (RIFF....WEBP), whatever its name or declared type says;
 * NULL for anything else.
 */
const char	*avatar_sniff(const uint8_t *p, size_t n);

/*
 * The id of an image: the first 128 bits, in hex, of HMAC-SHA256 under a
 * key derived from the current data key, over the bytes.  The same image
 * gets the same id (stored once), and no one without the key can compute
 * the id of an image.  0, or -1 on a crypto failure.
 */
int		 avatar_id(const struct keyring *, const uint8_t *p, size_t n,
		    char id[AVATAR_ID_LEN + 1]);

/* Is s an id avatar_id() could have made (32 lowercase hex digits)? */
int		 avatar_id_valid(const char *s);

/* What the upload found in a multipart body: the part named "file". */
struct avatar_upload {
	const uint8_t	*data;		/* into the body; NULL: no file part */
	size_t		 len;
	int		 files;		/* how many parts named "file" */
};

/*
 * Find the file part of a multipart/form-data body (ct: its Content-Type).
 * ERR_OK-style result: 0; -1 malformed or not multipart.
 */
int		 avatar_find_file(const char *ct, const uint8_t *body,
		    size_t len, struct avatar_upload *out);

#endif

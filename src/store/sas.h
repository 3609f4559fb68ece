/* sas.h - signed, expiring tokens for blob URLs (like Azure's SAS).
 *
 * A token grants some permissions on one blob address until a time:
 *
 *   sv=1&sp=rw&se=1700000000&sig=<base64url HMAC-SHA256>
 *
 * sv  the token format version, "1";
 * sp  permissions, a non-empty subset of "r" (read), "w" (write), "d"
 *     (delete), always written in that order ("rw", never "wr");
 * se  expiry, Unix seconds, decimal without sign or leading zeros: the token
 *     is valid while now < se;
 * sig HMAC-SHA256 under the server's secret of the string
 *     "1\n<sp>\n<se>\n<address>", unpadded base64url (43 characters).
 *
 * The address is not in the token: the verifier passes the address the
 * request names, so a token for one blob cannot open another. Pass a secret
 * reserved for this purpose (e.g. derived from the server secret with
 * rl_hmac_sha256(server_secret, "relearn blob tokens")), not one that also
 * signs other strings.
 *
 * Ownership: callers provide every buffer. Thread safety: pure functions,
 * callable from any thread.
 * Errors: rl_sas_sign: RL_EINVAL (bad address, permissions, expiry, short
 * secret or output buffer). rl_sas_verify: RL_EAUTH for a malformed,
 * tampered or other-blob token (message says which, never the expected
 * signature) and for an expired one (message says "expired"), RL_EFORBIDDEN
 * for a valid token that lacks a needed permission, RL_EINVAL for a bad
 * address or arguments.
 */
#ifndef RL_STORE_SAS_H
#define RL_STORE_SAS_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

#define RL_SAS_VERSION "1"
#define RL_SAS_SECRET_MIN 16                   /* bytes: shorter secrets are refused */
#define RL_SAS_QUERY_MAX 128                   /* a buffer this large always holds a token */
#define RL_SAS_INPUT_MAX 4096                  /* longer query strings are refused unread */
#define RL_SAS_EXPIRY_MAX 999999999999999999LL /* 18 digits */

/* Writes the token for address (valid per rl_blob_address_check), perms
 * (letters of "rwd" in any order, each at most once) and expiry (Unix
 * seconds, 1..RL_SAS_EXPIRY_MAX) to out, NUL-terminated, without a leading '?'. */
int rl_sas_sign(const void *secret, size_t secretlen, const char *address, const char *perms,
                int64_t expiry, char *out, size_t outsize, rl_error *err);

/* Checks the token in query (a URL query string, with or without its
 * leading '?'; its parameters in any order; values percent-decoded; other
 * parameters allowed but no parameter twice) for address: the signature
 * (compared in constant time), then the expiry against now (Unix seconds),
 * then that every letter of needed ("r", "w", "d" or several) is granted.
 * RL_OK only when all hold. */
int rl_sas_verify(const void *secret, size_t secretlen, const char *address, const char *query,
                  const char *needed, int64_t now, rl_error *err);

#endif

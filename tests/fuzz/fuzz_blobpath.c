/* fuzz_blobpath.c - libFuzzer harness for blob address checking and the
 * per-workspace address mapping (src/store/blob.c, blob_ws.c).
 *
 * The input (cut at its first NUL) is checked as a blob address. An address
 * the check accepts must obey, by an independent reading of blob.h, the
 * rules that keep it inside the store (no empty, "." or ".." segment, no
 * backslash or control byte, no %XX escape, a bounded length); it must map
 * into a workspace and back to itself. The input is also mapped back as an
 * internal address into small and exact buffers. A rule broken, a round trip
 * that changes the address, or a sanitizer report aborts.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/blobpath.
 */
#include "store/blob.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WS "4f2a9c0e1b7d4a66a1c3e5f708192a3b"

static void fail(const char *why, const char *address)
{
    fprintf(stderr, "%s: '%s'\n", why, address);
    abort();
}

/* What no accepted address may contain, whatever else the rules say. */
static void check_safe(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > RL_BLOB_ADDRESS_MAX) fail("accepted an address of bad length", a);
    const char *slash = strchr(a, '/');
    if (!slash || slash == a) fail("accepted an address without container and path", a);
    size_t segs = 0;
    for (const char *s = a;; segs++) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0) fail("accepted an empty segment", a);
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            fail("accepted a dot segment", a);
        if (!e) break;
        s = e + 1;
    }
    if (segs > RL_BLOB_SEGMENTS_MAX) fail("accepted too many segments", a);
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '\\') fail("accepted a control byte or backslash", a);
        if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]))
            fail("accepted a percent escape", a);
    }
    for (const char *p = a; p < slash; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
            fail("accepted a container with a bad character", a);
}

/* Path segments after the container. */
static size_t segments(const char *a)
{
    size_t n = 0;
    for (const char *p = a; *p; p++)
        n += *p == '/';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    rl_error err;
    char in[RL_BLOB_ADDRESS_MAX + 1], ext[RL_BLOB_ADDRESS_MAX + 1], ws[65];

    if (rl_blob_address_check(s, &err) == RL_OK) {
        check_safe(s);
        char container[RL_BLOB_ADDRESS_MAX + 1];
        size_t cn = (size_t)(strchr(s, '/') - s);
        memcpy(container, s, cn);
        container[cn] = '\0';
        if (rl_blob_container_check(container, &err) != RL_OK)
            fail("an accepted address has a refused container", s);
        if (rl_blob_ws_address(WS, s, in, sizeof in, &err) == RL_OK) {
            check_safe(in);
            if (rl_blob_ws_external(in, ext, sizeof ext, ws, sizeof ws, &err) != RL_OK)
                fail("a workspace address does not map back", in);
            if (strcmp(ext, s) != 0 || strcmp(ws, WS) != 0)
                fail("the workspace round trip changed the address", s);
        } else if (strlen(s) + sizeof WS <= RL_BLOB_ADDRESS_MAX &&
                   segments(s) < RL_BLOB_SEGMENTS_MAX) {
            fail("a short accepted address was refused a workspace", s);
        }
    } else {
        if (rl_blob_ws_address(WS, s, in, sizeof in, &err) == RL_OK)
            fail("a refused address got a workspace address", s);
    }

    /* Internal -> external on anything, into exact and tiny buffers. */
    char small[8], tiny_ws[4];
    if (rl_blob_ws_external(s, ext, sizeof ext, ws, sizeof ws, &err) == RL_OK) {
        if (strlen(ext) >= sizeof ext || strlen(ws) >= sizeof ws) fail("overlong result", s);
    }
    (void)rl_blob_ws_external(s, small, sizeof small, tiny_ws, sizeof tiny_ws, &err);
    /* A workspace id taken from the input (the daemon passes its own). */
    (void)rl_blob_ws_address(s, "data/x.csv", in, sizeof in, &err);
    free(s);
    return 0;
}

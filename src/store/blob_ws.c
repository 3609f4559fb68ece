/* blob_ws.c - per-workspace blob namespaces over one blob store. */
#include "store/blob.h"

#include <stdio.h>
#include <string.h>

int rl_blob_ws_address(const char *ws, const char *external, char *out, size_t size,
                       rl_error *err)
{
    int rc = rl_blob_address_check(external, err);
    if (rc) return rc;
    const char *slash = strchr(external, '/');
    int n = snprintf(out, size, "%.*s/%s/%s", (int)(slash - external), external, ws, slash + 1);
    if (n < 0 || (size_t)n >= size)
        return rl_error_set(err, RL_EINVAL, "blob path '%s' is too long", external);
    return rl_blob_address_check(out, err);
}

int rl_blob_ws_external(const char *internal, char *out, size_t size, char *ws_out,
                        size_t ws_size, rl_error *err)
{
    const char *a = strchr(internal, '/');
    const char *b = a ? strchr(a + 1, '/') : NULL;
    if (!a || !b || !b[1])
        return rl_error_set(err, RL_EINVAL, "blob address '%s' has no workspace", internal);
    int n = snprintf(out, size, "%.*s/%s", (int)(a - internal), internal, b + 1);
    if (n < 0 || (size_t)n >= size)
        return rl_error_set(err, RL_EINVAL, "blob address '%s' is too long", internal);
    if (ws_out) snprintf(ws_out, ws_size, "%.*s", (int)(b - a - 1), a + 1);
    return RL_OK;
}

/* fuzz_connstr.c - libFuzzer harness for BES connection strings
 * (rl_bes_connection_ours in src/http/bes.c).
 *
 * The input (cut at its first NUL) is a ConnectionString of a job's blob
 * reference. Whether it names the built-in store is compared with an
 * independent reading of the rule: entries split on ';', spaces and tabs
 * around an entry ignored, key and value split at the first '=', keys in
 * any case; ours when some entry is UseDevelopmentStorage=true (any case) or
 * BlobEndpoint=URL/storage with any number of final slashes. Also run with
 * a public URL so long that no endpoint can match it. A difference or a
 * sanitizer report aborts.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/connstr.
 */
#include "http/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define URL "http://127.0.0.1:8080"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The rule, read from the documentation rather than the code. */
static int expected(const char *url, const char *cs)
{
    char base[700];
    snprintf(base, sizeof base, "%s/storage", url);
    size_t bn = strlen(base);
    const char *p = cs;
    for (;;) {
        const char *end = strchr(p, ';');
        const char *a = p, *b = end ? end : p + strlen(p);
        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (eq) {
            size_t kn = (size_t)(eq - a);
            const char *v = eq + 1;
            size_t vn = (size_t)(b - v);
            if (kn == strlen("UseDevelopmentStorage") &&
                !strncasecmp(a, "UseDevelopmentStorage", kn) && vn == 4 &&
                !strncasecmp(v, "true", 4))
                return 1;
            if (kn == strlen("BlobEndpoint") && !strncasecmp(a, "BlobEndpoint", kn)) {
                while (vn && v[vn - 1] == '/')
                    vn--;
                if (bn < 600 && vn == bn && !strncasecmp(v, base, bn)) return 1;
            }
        }
        if (!end) return 0;
        p = end + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *cs = malloc(size + 1);
    if (!cs) return 0;
    memcpy(cs, data, size);
    cs[size] = '\0';
    int got = rl_bes_connection_ours(URL, cs), want = expected(URL, cs);
    if (got != want) {
        fprintf(stderr, "'%s': rl_bes_connection_ours says %d, the rule %d\n", cs, got, want);
        abort();
    }
    char long_url[640];
    memset(long_url, 'h', sizeof long_url - 1);
    long_url[sizeof long_url - 1] = '\0';
    got = rl_bes_connection_ours(long_url, cs);
    want = expected(long_url, cs);
    if (got != want) {
        fprintf(stderr, "'%s' (long URL): rl_bes_connection_ours says %d, the rule %d\n", cs, got,
                want);
        abort();
    }
    free(cs);
    return 0;
}

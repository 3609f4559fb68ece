/* util.c - small parsing helpers shared by the CLI's command files (util.h). */
#include "cli/util.h"

#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rl_cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int rl_cli_parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

int rl_cli_split_binding(const char *cmd, const char *what, char *arg, char **name, char **value)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return rl_cli_usage(cmd, "expected NAME=%s, got '%s'", what, arg);
    *eq = '\0';
    *name = arg;
    *value = eq + 1;
    return 0;
}

double rl_cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

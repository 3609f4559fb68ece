/* util.h - small parsing helpers shared by the CLI's command files.
 *
 * Strict number parsing (the whole text must be a finite number), NAME=VALUE
 * splitting for repeatable options, and a monotonic clock. Nothing allocates.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef RL_CLI_UTIL_H
#define RL_CLI_UTIL_H

/* Parses all of s as a finite double. Returns 0 and sets *out, or -1 (and
 * leaves *out alone) for empty text, trailing characters, overflow, NaN or
 * infinity. */
int rl_cli_parse_double(const char *s, double *out);

/* Parses all of s as a non-negative decimal integer. Returns 0 and sets *out,
 * or -1 (leaving *out alone) for a sign, trailing characters or overflow. */
int rl_cli_parse_u64(const char *s, unsigned long long *out);

/* Splits arg in place at its first '=' into a non-empty name and a non-empty
 * value (which may itself contain '='). On success *name and *value point
 * into arg and 0 is returned; otherwise nothing is changed and a usage error
 * "expected NAME=<what>" is printed for command cmd, returning 2. */
int rl_cli_split_binding(const char *cmd, const char *what, char *arg, char **name, char **value);

/* Seconds on the monotonic clock (for durations). */
double rl_cli_now_s(void);

#endif

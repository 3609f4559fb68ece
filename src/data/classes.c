/* classes.c - the one order of class labels, shared by training (which class
 * is positive) and evaluation (which class it reports as positive). */
#include "data/table.h"

#include <string.h>

int rl_class_compare(const char *a, size_t alen, const char *b, size_t blen)
{
    double x, y;
    int xnum = rl_parse_number(a, alen, &x), ynum = rl_parse_number(b, blen, &y);
    if (xnum != ynum) return xnum ? -1 : 1; /* numbers first */
    if (xnum && x != y) return x < y ? -1 : 1;
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* table.h - the columnar in-memory table every module works on.
 *
 * A table is an ordered list of named columns of equal length. A column holds
 * one type:
 *   RL_TYPE_NUMERIC  doubles in `num`, NAN for a missing value;
 *   RL_TYPE_BOOLEAN  0.0 / 1.0 in `num`, NAN for missing;
 *   RL_TYPE_STRING   int32 codes in `codes` into the column's `levels`
 *                    (distinct strings, in first-seen order), -1 for missing.
 * Flags add Studio's metadata: categorical, label, feature.
 *
 * Columns are immutable once built and reference-counted, so deriving a table
 * (selecting, renaming, appending scored columns) shares the columns it does
 * not change instead of copying them. To change a column, build a new one and
 * rl_table_set() it.
 *
 * Ownership: rl_table_new/rl_column_new return objects owned by the caller.
 * rl_table_add/rl_table_set take the caller's column reference. Getters borrow.
 * Thread safety: a finished table may be read from many threads at once
 * (reference counts are atomic); building one belongs to one thread.
 */
#ifndef RL_DATA_TABLE_H
#define RL_DATA_TABLE_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef enum rl_type {
    RL_TYPE_NUMERIC = 1,
    RL_TYPE_BOOLEAN = 2,
    RL_TYPE_STRING = 3,
} rl_type;

enum {
    RL_COL_CATEGORICAL = 1u << 0, /* a closed set of values (Studio's "categorical") */
    RL_COL_LABEL = 1u << 1,       /* the label (there is at most one per table) */
    RL_COL_FEATURE = 1u << 2,     /* explicitly marked a feature */
    RL_COL_SCORE = 1u << 3,       /* appended by Score Model */
};

/* A string dictionary: level i is a NUL-terminated string; lookups are hashed. */
typedef struct rl_levels rl_levels;

typedef struct rl_column {
    char *name;
    rl_type type;
    unsigned flags;
    size_t nrows;
    double *num;       /* NUMERIC, BOOLEAN: nrows values */
    int32_t *codes;    /* STRING: nrows codes, -1 = missing */
    rl_levels *levels; /* STRING: the dictionary the codes index */
    long refs;         /* private: use rl_column_ref/unref */
} rl_column;

typedef struct rl_table rl_table;

/* ---- levels ---- */
rl_levels *rl_levels_new(void);
void rl_levels_free(rl_levels *lv);
size_t rl_levels_count(const rl_levels *lv);
/* Level i (borrowed, valid while lv lives); i < count. */
const char *rl_levels_get(const rl_levels *lv, int32_t i);
size_t rl_levels_len(const rl_levels *lv, int32_t i);
/* The code of s[0..n), adding it when absent; returns the code or RL_ENOMEM
 * (negative). */
int32_t rl_levels_intern(rl_levels *lv, const char *s, size_t n);
/* The code of s[0..n), or -1 when absent. */
int32_t rl_levels_find(const rl_levels *lv, const char *s, size_t n);

/* ---- columns ---- */
/* A new column of nrows values, all missing. For RL_TYPE_STRING it gets an
 * empty rl_levels. The name is copied. Returns NULL when out of memory. */
rl_column *rl_column_new(const char *name, rl_type type, size_t nrows);
/* A deep copy with a new name (NULL keeps the name). */
rl_column *rl_column_dup(const rl_column *c, const char *name);
rl_column *rl_column_ref(rl_column *c);
/* Drops a reference; frees the column with the last one. Accepts NULL. */
void rl_column_unref(rl_column *c);
/* Whether row i is missing. */
int rl_column_is_missing(const rl_column *c, size_t i);
/* Row i as text into out (at least 32 bytes for numbers): returns a pointer
 * to the text (out, or the level string) and its length in *len; missing
 * gives "" and 0. */
const char *rl_column_text(const rl_column *c, size_t i, char *out, size_t *len);
const char *rl_type_name(rl_type t);
/* A new column holding c converted to type `to` (flags kept): numbers and
 * booleans to text; text to numbers (every present value must parse, as the
 * readers parse numbers) or booleans (true/false, any case, or 0/1); numbers
 * to booleans (0 and 1 only). The same type returns a new reference to c.
 * A value that does not convert gives RL_ESCHEMA naming the column, the row
 * (1-based) and the value. Implemented in convert.c. */
int rl_column_convert(rl_column *c, rl_type to, rl_column **out, rl_error *err);
/* Parses text s[0..n) as a number the way the readers do (decimal, exponent,
 * leading sign, surrounding spaces; "NaN"/"Infinity" refused). Returns 1 and
 * sets *v on success, 0 when it is not a number. Implemented in convert.c. */
int rl_parse_number(const char *s, size_t n, double *v);
/* Parses "numeric", "boolean", "string", "categorical" (string + categorical
 * flag); returns RL_OK and sets *type, *flags, or RL_EINVAL. */
int rl_type_parse(const char *s, rl_type *type, unsigned *flags);

/* The order of class labels everywhere in relearn: texts that read as
 * numbers first, in numeric order, then other texts bytewise ("false" before
 * "true"). The last class of a two-class label is the positive one.
 * Implemented in classes.c. */
int rl_class_compare(const char *a, size_t alen, const char *b, size_t blen);

/* ---- tables ---- */
rl_table *rl_table_new(size_t nrows);
void rl_table_free(rl_table *t);
/* A new table sharing all columns of t. */
rl_table *rl_table_dup(const rl_table *t);
size_t rl_table_nrows(const rl_table *t);
size_t rl_table_ncols(const rl_table *t);
/* Column i (borrowed); i < ncols. */
rl_column *rl_table_col(const rl_table *t, size_t i);
/* The index of the column named name, or -1. */
long rl_table_find(const rl_table *t, const char *name);
/* Appends col, taking the caller's reference. Fails with RL_ESCHEMA when its
 * length differs from the table's or its name exists already. */
int rl_table_add(rl_table *t, rl_column *col, rl_error *err);
/* Replaces column i by col, taking the caller's reference. */
int rl_table_set(rl_table *t, size_t i, rl_column *col, rl_error *err);
/* Removes column i. */
void rl_table_remove(rl_table *t, size_t i);
/* The index of the label column, or -1. */
long rl_table_label(const rl_table *t);
/* A new table of the given rows of t, in that order (indices < nrows). */
int rl_table_take_rows(const rl_table *t, const size_t *rows, size_t n, rl_table **out,
                       rl_error *err);

#endif

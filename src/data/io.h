/* io.h - reading and writing tables as CSV, TSV and ARFF (UTF-8).
 *
 * CSV follows RFC 4180: a header row, fields optionally quoted with '"', quotes
 * doubled inside quoted fields, embedded commas and newlines, LF or CRLF line
 * ends, a UTF-8 byte-order mark skipped. TSV is the same with tabs. ARFF reads
 * @relation, @attribute (numeric/real/integer, nominal {a,b,'c d'}, string,
 * date as string), @data, '?' for missing and '%' comments.
 *
 * Missing values: an empty field, "?" and "NA". Column types are inferred from
 * the data unless overridden: numeric when every present value parses as a
 * number, boolean when every present value is true/false (any case), string
 * otherwise. ARFF's declared types are used as they are (nominal becomes a
 * categorical string column whose levels are the declared values in order).
 *
 * Errors name the source, line and column (1-based) and say how to fix it:
 *   "data.csv:17:3: row has 4 fields, the header 5; check for an unquoted comma"
 *
 * Ownership: tables returned belong to the caller. Readers never keep a
 * reference to the input bytes.
 * Thread safety: all functions are reentrant.
 */
#ifndef RL_DATA_IO_H
#define RL_DATA_IO_H

#include "base/buf.h"
#include "base/error.h"
#include "data/table.h"

typedef enum rl_format {
    RL_FMT_AUTO = 0, /* from the file name's extension; CSV when unknown */
    RL_FMT_CSV,
    RL_FMT_TSV,
    RL_FMT_ARFF,
} rl_format;

/* A forced type for one column (from --type COL=TYPE). */
typedef struct rl_type_override {
    const char *column;
    rl_type type;
    unsigned flags; /* RL_COL_CATEGORICAL for "categorical" */
} rl_type_override;

typedef struct rl_read_opts {
    rl_format format;
    const rl_type_override *overrides; /* may be NULL */
    size_t noverrides;
    const char *source; /* name used in messages for in-memory input; NULL: "<input>" */
    size_t max_field;   /* longest field accepted in bytes; 0: 1 MiB */
} rl_read_opts;

/* The format named by path's extension (.csv, .tsv, .arff; any case), or
 * RL_FMT_AUTO when it names none. */
rl_format rl_format_from_path(const char *path);
/* "csv", "tsv", "arff". */
const char *rl_format_name(rl_format f);

/* Reads path ("-" reads standard input). opts may be NULL (all defaults). An
 * override naming a column the file does not have is an RL_ESCHEMA error. */
int rl_table_read_file(const char *path, const rl_read_opts *opts, rl_table **out, rl_error *err);
/* Reads len bytes of data (need not be NUL-terminated). RL_FMT_AUTO means CSV. */
int rl_table_read_mem(const char *data, size_t len, const rl_read_opts *opts, rl_table **out,
                      rl_error *err);

/* Writes t to path ("-" writes standard output) in fmt (RL_FMT_AUTO: from the
 * extension, CSV when unknown). Files are written atomically. Numbers are
 * written as the shortest text that reads back exactly; missing values as an
 * empty field (CSV, TSV) or '?' (ARFF). */
int rl_table_write_file(const char *path, rl_format fmt, const rl_table *t, rl_error *err);
/* Appends t in fmt to out. relation names the ARFF @relation (NULL: "relearn"). */
int rl_table_write_buf(rl_buf *out, rl_format fmt, const rl_table *t, const char *relation,
                       rl_error *err);

/* Receives a table's text in order, a piece at a time; non-zero (with err
 * set) stops the writing with that code. */
typedef int (*rl_write_fn)(void *ctx, const char *data, size_t len, rl_error *err);
/* Writes t in fmt (RL_FMT_AUTO: CSV) to fn: CSV and TSV in pieces of about
 * 1 MiB as they are formatted (memory stays small however many rows), ARFF
 * in one piece. On an error fn may have had part of the text. */
int rl_table_write_to(rl_write_fn fn, void *ctx, rl_format fmt, const rl_table *t,
                      const char *relation, rl_error *err);

#endif

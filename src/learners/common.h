/* common.h - what the learner files share: input checks and the payload
 * envelope. Private to src/learners (not a public interface).
 *
 * Every learner's save() writes one envelope, all integers little-endian:
 *   "RLLM"          4 bytes magic
 *   u32 version     RL_WIRE_VERSION
 *   u32 tag         which library's payload follows (RL_WIRE_TAG_*)
 *   u32 reserved    0
 *   u64 length      payload bytes after this 32-byte header
 *   u64 checksum    FNV-1a 64 of the payload
 *   payload         the library's fields, written with rl_wire_put_*
 * load() opens it with rl_wire_open(), which checks all of the header and the
 * checksum before any byte reaches a third-party parser, then reads fields
 * with rl_wire_get_*: a read past the end marks the reader bad instead of
 * reading, and rl_wire_close() turns a bad reader or left-over bytes into
 * RL_EFORMAT. Any single changed byte changes FNV-1a's result, so a flipped
 * byte is always caught; the model file's SHA-256 covers deliberate damage.
 *
 * Thread safety: all functions are reentrant; a reader belongs to one thread.
 */
#ifndef RL_LEARNERS_COMMON_H
#define RL_LEARNERS_COMMON_H

#include "base/buf.h"
#include "base/error.h"
#include "learners/learner.h"

#include <stddef.h>
#include <stdint.h>

#define RL_WIRE_VERSION 1u
#define RL_WIRE_HEADER 32u
/* Payload tags: four ASCII bytes read as a little-endian u32. */
#define RL_WIRE_TAG(a, b, c, d)                                                                    \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define RL_WIRE_TAG_XGBOOST RL_WIRE_TAG('X', 'G', 'B', 'M')
#define RL_WIRE_TAG_LIBLINEAR RL_WIRE_TAG('L', 'L', 'I', 'N')
#define RL_WIRE_TAG_LINREG RL_WIRE_TAG('L', 'R', 'E', 'G')

/* Predictions from small inputs run on the calling thread alone (learner.h). */
#define RL_LEARNER_SMALL_ROWS 1024

typedef struct rl_wire_reader {
    const unsigned char *p; /* the payload */
    size_t len, pos;
    int bad; /* a read went past the end */
} rl_wire_reader;

/* Appends the envelope header for tag; *mark remembers where it starts. */
int rl_wire_begin(rl_buf *out, uint32_t tag, size_t *mark);
/* Fills in the payload length and checksum of the envelope started at mark. */
void rl_wire_end(rl_buf *out, size_t mark);
int rl_wire_put_u32(rl_buf *out, uint32_t v);
int rl_wire_put_u64(rl_buf *out, uint64_t v);
int rl_wire_put_f64(rl_buf *out, double v);
/* n doubles, each as rl_wire_put_f64 writes it. */
int rl_wire_put_f64s(rl_buf *out, const double *v, size_t n);

/* Checks the envelope of data[0..len) (magic, version, tag, exact length,
 * checksum) and points r at its payload. what names the payload in messages
 * ("liblinear model"). RL_EFORMAT when anything is off. */
int rl_wire_open(const void *data, size_t len, uint32_t tag, const char *what, rl_wire_reader *r,
                 rl_error *err);
uint32_t rl_wire_get_u32(rl_wire_reader *r);
uint64_t rl_wire_get_u64(rl_wire_reader *r);
double rl_wire_get_f64(rl_wire_reader *r);
/* Reads n doubles into v (which has room for n). */
void rl_wire_get_f64s(rl_wire_reader *r, double *v, size_t n);
/* Borrows the next n bytes, or NULL (and marks r bad) when fewer are left. */
const void *rl_wire_get_bytes(rl_wire_reader *r, size_t n);
/* Payload bytes not read yet. */
size_t rl_wire_left(const rl_wire_reader *r);
/* RL_OK when r read exactly its payload; RL_EFORMAT otherwise. */
int rl_wire_close(const rl_wire_reader *r, const char *what, rl_error *err);
/* Sets an RL_EFORMAT error about a damaged payload. Returns RL_EFORMAT. */
int rl_wire_corrupt(rl_error *err, const char *what, const char *detail);

/* Checks a training set: x non-empty and finite or NAN; y finite, and 0/1 for
 * RL_TASK_BINARY, a class index below nclass (>= 2) for RL_TASK_MULTICLASS.
 * RL_EINVAL naming the first bad row (1-based) and matrix column. */
int rl_learner_check_train(const rl_learner_kind *k, const rl_matrix *x, const double *y,
                           int nclass, rl_error *err);
/* Checks a matrix to predict: width nfeat and no infinite value. */
int rl_learner_check_predict(const rl_matrix *x, size_t nfeat, rl_error *err);

#endif

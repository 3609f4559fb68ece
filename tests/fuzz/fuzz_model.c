/* fuzz_model.c - libFuzzer harness for the .ilearner reader (src/model).
 *
 * Each input is loaded twice: as it is (the framing: magic, version,
 * lengths, checksum), and with its checksums recomputed (the learner
 * payload envelope's FNV-1a, src/learners/common.h, then the file's trailing
 * SHA-256), as anyone crafting a model file to upload would do, so that
 * mutations reach the JSON header, the transform chain, the feature layout
 * and each learner's payload fields instead of stopping at a checksum.
 * A model that loads must describe itself, save, load again from its own
 * bytes (a refusal aborts) and score a small table built from its input
 * schema (an error is fine, a crash is not): relearnd loads models that
 * clients upload, then scores requests with them.
 * scripts/fuzz.sh builds and runs it on a copy of tests/fuzz/corpus/model
 * (small real models of every learner kind).
 */
#include "base/crypto.h"
#include "base/mem.h"
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Three rows typed by m's input schema: a value, another value, missing. */
static rl_table *schema_table(const rl_model *m)
{
    rl_table *t = rl_table_new(3);
    for (size_t i = 0; t && i < rl_model_ninputs(m); i++) {
        rl_column *c = rl_column_new(rl_model_input_name(m, i), rl_model_input_type(m, i), 3);
        if (!c) break;
        if (c->type == RL_TYPE_STRING) {
            c->codes[0] = rl_levels_intern(c->levels, "a", 1);
            c->codes[1] = rl_levels_intern(c->levels, "zz", 2);
        } else {
            c->num[0] = 1;
            c->num[1] = c->type == RL_TYPE_BOOLEAN ? 0 : -2.5e9;
        }
        (void)rl_table_add(t, c, NULL); /* takes c, also when refusing a repeated name */
    }
    return t;
}

static void exercise(rl_model *m)
{
    rl_error err;
    json_t *d = rl_model_describe(m);
    json_decref(d);

    rl_buf b = RL_BUF_INIT;
    if (rl_model_save(m, &b, &err) == RL_OK) {
        rl_model *again = NULL;
        if (rl_model_load(b.data, b.len, &again, &err) != RL_OK) {
            fprintf(stderr, "a loaded model saved does not load again: %s\n", err.msg);
            abort();
        }
        rl_model_unref(again);
    }
    rl_buf_fini(&b);

    rl_table *t = schema_table(m), *scored = NULL;
    if (t && rl_model_score(m, t, 0, &scored, &err) == RL_OK) rl_table_free(scored);
    rl_table_free(t);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Rewrites the FNV-1a 64 of the learner payload envelope ("RLLM", u32
 * version, u32 tag, u32 reserved, u64 length, u64 checksum, payload) when
 * the file's framing locates one whose length fits. */
static void fix_envelope(uint8_t *f, size_t size)
{
    if (size < 24 + 8 + 32) return;
    uint64_t hlen = get_u64(f + 16);
    if (hlen > size - 24 - 8 - 32) return;
    uint8_t *pl = f + 24 + hlen + 8;
    uint64_t plen = get_u64(f + 24 + hlen);
    size_t room = size - 32 - (size_t)(pl - f);
    if (plen > room || plen < 32 || memcmp(pl, "RLLM", 4) != 0) return;
    uint64_t n = get_u64(pl + 16);
    if (n != plen - 32) return;
    /* common.c's basis: 1469598103934665603, not FNV's 14695981039346656037. */
    uint64_t h = 1469598103934665603ULL;
    for (uint64_t i = 0; i < n; i++) h = (h ^ pl[32 + i]) * 0x100000001b3ULL;
    for (int i = 0; i < 8; i++) pl[24 + i] = (uint8_t)(h >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rl_model *m = NULL;
    rl_error err;
    if (rl_model_load(data, size, &m, &err) == RL_OK) {
        exercise(m);
        rl_model_unref(m);
        m = NULL;
    }
    if (size < 8 + RL_SHA256_LEN) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    size_t body = size - RL_SHA256_LEN;
    fix_envelope(copy, size);
    if (rl_sha256(copy, body, copy + body, NULL) == RL_OK &&
        rl_model_load(copy, size, &m, &err) == RL_OK) {
        exercise(m);
        rl_model_unref(m);
    }
    free(copy);
    return 0;
}

/* fuzz_model.c - libFuzzer harness for the .ilearner reader (src/model).
 *
 * Each input is loaded twice: as it is (the framing: magic, version,
 * lengths, checksum), and with its trailing SHA-256 recomputed over the rest,
 * so that mutations reach the JSON header, the transform chain, the feature
 * layout and each learner's payload instead of stopping at the checksum.
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
    if (rl_sha256(copy, body, copy + body, NULL) == RL_OK &&
        rl_model_load(copy, size, &m, &err) == RL_OK) {
        exercise(m);
        rl_model_unref(m);
    }
    free(copy);
    return 0;
}

/* model.h - a trained model: relearn's .ilearner file, training and scoring.
 *
 * A model bundles everything needed to score raw data exactly as the training
 * data was processed: the input schema (the raw columns the training data had),
 * the chain of fitted transforms (modules/transform.h), the feature layout
 * (learners/features.h), the learner kind, its parameters and its trained
 * state, the label and its classes, and training metadata (time, rows, a hash
 * of the training data, metrics).
 *
 * The file is one self-contained, versioned binary (docs/model-format.md):
 *
 *   magic "RLMODEL\x1a" | u32 format version | u32 flags | u64 header length |
 *   header (UTF-8 JSON) | u64 payload length | payload (the learner's own
 *   serialization) | SHA-256 of all bytes before it
 *
 * all integers little-endian. Loading refuses a truncated, corrupted (checksum),
 * foreign (magic) or newer-format file with a message saying which. A model
 * saved and loaded again scores bit-for-bit identically.
 *
 * Ownership: models are reference-counted (atomic); a served model is shared
 * by the requests using it and freed by the last rl_model_unref. A model is
 * immutable once trained or loaded, except rl_model_set_* before it is shared.
 * Thread safety: rl_model_score may run on many threads at once on one model.
 */
#ifndef RL_MODEL_MODEL_H
#define RL_MODEL_MODEL_H

#include "base/buf.h"
#include "base/error.h"
#include "data/table.h"
#include "learners/learner.h"
#include "modules/transform.h"

#include <jansson.h>

#define RL_MODEL_FORMAT_VERSION 1

typedef struct rl_model rl_model;

/* What rl_model_train needs. */
typedef struct rl_train_spec {
    const char *name;                 /* shown in metadata; NULL: "model" */
    const rl_learner_kind *kind;
    const rl_params *params;          /* NULL: the kind's defaults */
    const char *label;                /* the label column's name */
    rl_transform *const *chain;       /* transforms the training data went through */
    size_t nchain;
    const rl_table *input_schema;     /* the raw table before the chain (schema only);
                                         NULL: the training table itself */
} rl_train_spec;

/* Trains on t (already processed by spec->chain). Rows whose label is missing
 * are left out. Two-class learners need exactly two label values. The model
 * takes references to the chain's transforms. */
int rl_model_train(const rl_train_spec *spec, const rl_table *t, rl_model **out, rl_error *err);

/* Scores in: converts columns to the schema's types, applies the transforms
 * from position `skip` of the chain on (0: all; data already processed by the
 * first `skip` transforms passes skip), builds features, predicts, and returns
 * *out: in's columns followed by "Scored Labels", then "Scored Probabilities"
 * (two-class) or "Scored Probabilities for Class \"X\"" per class (multiclass).
 * When a transform removes rows (Clean Missing Data's remove-entire-row), the
 * processed rows are returned instead of in's. Missing input columns are
 * RL_ESCHEMA errors naming them. */
int rl_model_score(const rl_model *m, const rl_table *in, size_t skip, rl_table **out,
                   rl_error *err);

/* Serialization. save appends the file's bytes to out. */
int rl_model_save(const rl_model *m, rl_buf *out, rl_error *err);
int rl_model_save_file(const rl_model *m, const char *path, rl_error *err);
int rl_model_load(const void *data, size_t len, rl_model **out, rl_error *err);
int rl_model_load_file(const char *path, rl_model **out, rl_error *err);

rl_model *rl_model_ref(rl_model *m);
void rl_model_unref(rl_model *m); /* accepts NULL */
/* The current number of references (for caches deciding what to drop). */
long rl_model_refs(const rl_model *m);

/* Sets the evaluation metrics recorded in the metadata (takes a reference). */
void rl_model_set_metrics(rl_model *m, json_t *metrics);
/* Sets the model's name (copied). */
int rl_model_set_name(rl_model *m, const char *name, rl_error *err);

/* A JSON description for `relearn model show`: schema, learner, parameters,
 * label, classes, transforms, training metadata. Caller owns the result. */
json_t *rl_model_describe(const rl_model *m);

/* Accessors (borrowed, valid while m lives). */
const rl_learner_kind *rl_model_kind(const rl_model *m);
rl_task rl_model_task(const rl_model *m);
const char *rl_model_label(const rl_model *m);
const char *rl_model_name(const rl_model *m);
size_t rl_model_nchain(const rl_model *m);
rl_transform *rl_model_chain(const rl_model *m, size_t i);
/* The input schema: raw column names and types the model reads (without the
 * label). */
size_t rl_model_ninputs(const rl_model *m);
const char *rl_model_input_name(const rl_model *m, size_t i);
rl_type rl_model_input_type(const rl_model *m, size_t i);
/* The SHA-256 (hex) of the data the model was trained on. */
const char *rl_model_data_sha256(const rl_model *m);

/* A SHA-256 over a table's names, types and values (hex, 65 bytes with NUL). */
void rl_table_sha256(const rl_table *t, char out[65]);

#endif

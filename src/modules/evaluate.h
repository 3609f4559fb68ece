/* evaluate.h - Evaluate Model: metrics of a scored dataset, with Studio's names.
 *
 * The task is read from the scored columns: "Scored Probabilities" means
 * two-class, "Scored Probabilities for Class \"X\"" columns mean multiclass,
 * "Scored Labels" alone means regression. Class order is sorted (numbers
 * numerically, text bytewise, false before true); the positive class of a
 * two-class problem is the last.
 *
 * Two-class JSON: "True Positive", "False Negative", "False Positive",
 * "True Negative", "Accuracy", "Precision", "Recall", "F-Score", "AUC",
 * "Average Log Loss", "Threshold" (0.5), "Positive Label", "Negative Label",
 * "ROC" (array of {"False Positive Rate", "True Positive Rate", "Threshold"}).
 * Multiclass: "Overall accuracy", "Average accuracy", "Micro-averaged
 * precision", "Macro-averaged precision", "Micro-averaged recall",
 * "Macro-averaged recall", "Classes" and "Confusion Matrix" (rows actual,
 * columns predicted, in class order).
 * Regression: "Mean Absolute Error", "Root Mean Squared Error", "Relative
 * Absolute Error", "Relative Squared Error", "Coefficient of Determination".
 * Every result also has "Task" ("two-class", "multiclass", "regression") and
 * "Rows". Rows whose label is missing are left out, and so are rows whose
 * score is missing. A metric that is not defined (AUC when only one class is
 * present, relative errors of a constant label) is null. No usable row, a
 * two-class score with a label of more or fewer than two classes, or no
 * scored column is RL_ESCHEMA.
 *
 * Ownership: the JSON returned belongs to the caller (json_decref).
 * Thread safety: reentrant.
 */
#ifndef RL_MODULES_EVALUATE_H
#define RL_MODULES_EVALUATE_H

#include "base/error.h"
#include "data/table.h"

#include <jansson.h>

/* label: the true label's column name; NULL uses the column flagged label. */
int rl_evaluate(const rl_table *scored, const char *label, json_t **out, rl_error *err);

/* Two scored datasets side by side (Evaluate Model with both inputs):
 * {"Scored dataset": {...}, "Scored dataset to compare": {...}}. */
int rl_evaluate_compare(const rl_table *a, const rl_table *b, const char *label, json_t **out,
                        rl_error *err);

#endif

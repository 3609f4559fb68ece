/* jobs.h - batch (BES) jobs: a bounded pool of workers running queued jobs.
 *
 * A job is a row of the metadata store (store/meta.h): created by
 * POST .../jobs, queued by .../start, claimed by one worker, run, and
 * finished with its results (blob addresses) or a failure reason. Workers
 * take queued jobs oldest first; they never run on the HTTP threads, so
 * batch work never blocks request-response scoring.
 *
 * A worker runs a job by reading the service's experiment and the endpoint's
 * model from the stores, reading each input blob (.csv, .tsv, .arff),
 * running the experiment with progress reported to the store, and writing
 * each output blob atomically (datasets by extension, trained models as
 * .ilearner, evaluations as .csv or .json).
 *
 * Restart: rl_jobs_start first recovers jobs left Running by a crash
 * (rl_meta_jobs_recover: run again, at most RL_JOBS_MAX_ATTEMPTS times in all,
 * then Failed with the reason). rl_jobs_stop asks running jobs to stop at the
 * next module boundary and puts them back in the queue with their attempt
 * given back (rl_meta_job_requeue): an orderly stop never uses up an attempt.
 * Workers also poll the queue every second, so jobs queued by another
 * process or before a restart run without a wake-up.
 *
 * Cancellation: the HTTP layer marks the job Cancelled in the store first,
 * then calls rl_jobs_cancel; the worker stops at the next module boundary,
 * writes no outputs and leaves the Cancelled status alone.
 *
 * What a job row holds (the HTTP layer writes it, the workers read it):
 *   request_json  {"Inputs": {"input1": ADDRESS, ...},
 *                  "Outputs": {"output1": ADDRESS, ...}, "GlobalParameters": {}}
 *   results_json  {"output1": ADDRESS, ...} once Finished
 * where every ADDRESS is an internal blob address ("container/WS/path",
 * store/blob.h), resolved in the service's workspace when the job was
 * created; an output missing from "Outputs" goes to its default place
 * (rl_jobs_default_output). details says why a job Failed. Outputs are
 * serialized and checked before the first is written, and never written over
 * a blob that an endpoint or its history uses (rl_meta_blob_referenced).
 *
 * Thread safety: rl_jobs_wake and rl_jobs_cancel may be called from any
 * thread; start and stop from the main thread. The helpers below are pure.
 */
#ifndef RL_JOBS_JOBS_H
#define RL_JOBS_JOBS_H

#include "base/error.h"
#include "experiment/experiment.h"
#include "store/blob.h"
#include "store/meta.h"

#include <stddef.h>

#define RL_JOBS_MAX_ATTEMPTS 3

typedef struct rl_jobs rl_jobs;

/* Recovers interrupted jobs and starts `workers` threads (>= 1). meta and
 * blobs are borrowed and must outlive the pool. */
int rl_jobs_start(rl_meta *meta, struct rl_blob_store *blobs, int workers, rl_jobs **out,
                  rl_error *err);
/* Tells the workers that a job was queued. */
void rl_jobs_wake(rl_jobs *j);
/* Asks the worker running job id (if any) to stop; the caller has already
 * marked it Cancelled in the store. */
void rl_jobs_cancel(rl_jobs *j, const char *id);
/* Stops the workers (running jobs stop at their next module boundary and
 * are requeued: they run again after a restart) and frees j; NULL is fine. */
void rl_jobs_stop(rl_jobs *j);

/* ---- outputs (shared by the HTTP layer's checks and the workers) ---- */

/* The extension of an output of this kind when the request leaves it out:
 * "ilearner" for a trained model, "csv" for anything else (datasets and
 * evaluations, as Studio wrote them). Static string. */
const char *rl_jobs_default_ext(rl_value_kind kind);

/* RL_OK when blob `shown` (its extension, any case) may hold output `name` of
 * this kind: a dataset .csv, .tsv or .arff; an evaluation .csv or .json; a
 * trained model .ilearner; kind 0 (not known before running) any of those.
 * Else RL_EINVAL saying so, e.g. "output1: a trained model must be written to
 * a .ilearner blob, not results/out.csv". */
int rl_jobs_check_output(const char *name, rl_value_kind kind, const char *shown, rl_error *err);

/* The internal address where output `name` of job `job_id` goes when the
 * request leaves it out: external "jobs/JOB/NAME.EXT" in workspace ws, into
 * out (RL_BLOB_ADDRESS_MAX + 1 bytes). RL_EINVAL when it is no valid address. */
int rl_jobs_default_output(const char *ws, const char *job_id, const char *name, rl_value_kind kind,
                           char *out, size_t size, rl_error *err);

#endif

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
 * Restart: rl_jobs_start first recovers jobs left Running by a crash or stop
 * (rl_meta_jobs_recover: run again, at most RL_JOBS_MAX_ATTEMPTS times in all,
 * then Failed with the reason). rl_jobs_stop asks running jobs to stop at the
 * next module boundary and leaves them Running for that recovery.
 *
 * Thread safety: rl_jobs_wake and rl_jobs_cancel may be called from any
 * thread; start and stop from the main thread.
 */
#ifndef RL_JOBS_JOBS_H
#define RL_JOBS_JOBS_H

#include "base/error.h"
#include "store/blob.h"
#include "store/meta.h"

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
 * stay Running for recovery) and frees j; NULL is fine. */
void rl_jobs_stop(rl_jobs *j);

#endif

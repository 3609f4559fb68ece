/* fuzz_tsv.c - libFuzzer harness for the TSV reader and writer.
 *
 * The CSV harness (fuzz_csv.c) with the format set to RL_FMT_TSV: the same
 * read, write, read-again round trip, on its own corpus of tab-separated
 * seeds (tests/fuzz/corpus/tsv) so that each format's paths are explored on
 * inputs shaped for it.
 */
#define RL_FUZZ_TSV 1
#include "fuzz_csv.c"

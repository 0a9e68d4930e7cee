/**
 * The scoring-semantics version: bump it in any change that alters a score the compiled
 * graph computes for the same model, taps and preprocessing (a new gradient rule for an
 * op already supported, a different reduction). Calibrations record it through the
 * fingerprint, so they are refused after such a change, and kept across releases that
 * only rename nodes or reorder the emitted graph.
 */
export const SCORING_SEMANTICS_VERSION = 1;

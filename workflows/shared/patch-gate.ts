import { patched } from '@temporalio/workflow';

/**
 * One patch marker for all the patches a run starts with, instead of one for each as the run
 * first reaches it.
 *
 * Every `patched(id)` a run reaches for the first time records a marker and upserts the
 * `TemporalChangeVersion` search attribute: two history events and a visibility write each, which a
 * decoupled payment paid twice (`payment-local-bank-calls`, `payment-read-records`) and a cancelled
 * one up to five times (issue 12, ninth pass). The gate is asked once, first thing in the workflow
 * function, before any command:
 *
 * - a run that records it started with the code of every patch in `covered`, so each of them is
 *   taken without a marker of its own;
 * - a run recorded before the gate existed does not have its marker and asks each patch as before,
 *   replayed or carried on live, so its history replays unchanged.
 *
 * A patch added later is not covered: it records its own marker until a new gate (a new id, its
 * list including the old gate's) is cut. Retire a gate's patches only as `patched()` patches are
 * retired: when no run recorded before it can be replayed.
 *
 * Call it at the same point on every path: the first statement of the workflow function.
 */
export function patchGate(gateId: string, covered: readonly string[]): (patchId: string) => boolean {
  const startedWithGate = patched(gateId);
  const inGate = new Set(covered);
  return (patchId) => (startedWithGate && inGate.has(patchId)) || patched(patchId);
}

import { patched, workflowInfo } from '@temporalio/workflow';

/** A gate: its patch id, and the patches a run that records it started with. */
export interface PatchGate {
  id: string;
  covers: readonly string[];
}

/**
 * One patch marker for all the patches a run starts with, instead of one for each as the run
 * first reaches it; or none, where the run's starter named the gate.
 *
 * Every `patched(id)` a run reaches for the first time records a marker and upserts the
 * `TemporalChangeVersion` search attribute: two history events and a visibility write each, which a
 * decoupled payment paid twice (`payment-local-bank-calls`, `payment-read-records`) and a cancelled
 * one up to five times (issue 12, ninth pass). The gate is asked once, first thing in the workflow
 * function, before any command:
 *
 * - a run that records it started with the code of every patch in `covers`, so each of them is
 *   taken without a marker of its own;
 * - a run recorded before the gate existed does not have its marker and asks each patch as before,
 *   replayed or carried on live, so its history replays unchanged.
 *
 * A patch added later is cut with a new gate, newest first in `gates`, whose `covers` include the
 * older gate's: a new run records only the newest gate's marker (the older gates are not asked, so
 * they record none); a run recorded under an older gate finds that gate's marker and takes the
 * patches that gate covers, and asks each newer patch as any patch is asked (false where its
 * history has no marker for it; reached live, it records one). Retire a gate's patches only as
 * `patched()` patches are retired: when no run recorded before it can be replayed.
 *
 * **Named by the starter** (`startedUnder`, from the workflow's input, which its history keeps): the
 * code that starts the run says which gate it starts under, so the run takes that gate's patches
 * with no marker and no `TemporalChangeVersion` upsert at all (issue 7, eighteenth pass). The
 * input is in the history, so a replay takes the same gate. Two cases keep the marker's meaning:
 *
 * - a gate this code does not know (a starter newer than the worker) is not taken: the run asks the
 *   gates it knows, recording the newest one's marker, as if no gate had been named;
 * - a worker that did not read the name (one deployed before this) may have begun the run and
 *   recorded a gate's marker. Replaying, the gates are asked, which records nothing (`patched()`
 *   while replaying is false, and sends no command, where the history has no marker): a gate whose
 *   marker the history has is taken, as that worker took it; else the named gate. Live, nothing is
 *   asked.
 *
 * Call it at the same point on every path: the first statement of the workflow function.
 */
export function patchGate(gates: readonly PatchGate[], startedUnder?: string): (patchId: string) => boolean {
  const named = startedUnder === undefined ? undefined : gates.find((g) => g.id === startedUnder);
  // Asked newest first, stopping at the first the run has: a new run records one marker.
  const recorded = () => gates.find((g) => patched(g.id));
  const gate = named ? (workflowInfo().unsafe.isReplaying ? (recorded() ?? named) : named) : recorded();
  const inGate = new Set(gate?.covers ?? []);
  return (patchId) => inGate.has(patchId) || patched(patchId);
}

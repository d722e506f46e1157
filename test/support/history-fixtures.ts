import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { DefaultLogger, Runtime } from '@temporalio/worker';

/**
 * Recorded workflow histories for replay tests (the determinism guard): read, written and compared
 * the same way for every workflow. Histories are committed under `workflows/__fixtures__/`;
 * `RECORD_HISTORY=1` rewrites them, only for a change that ships behind `patched()`.
 */
export type History = proto.temporal.api.history.v1.IHistory;

export const RECORD_HISTORY = process.env.RECORD_HISTORY === '1';

/**
 * Proto3 JSON, the format `temporal workflow show --output json` writes. Not the SDK's historyToJSON /
 * historyFromJSON (which Worker.runReplayHistory also calls for JSON input): in this install npm keeps
 * two copies of protobufjs (under @temporalio/common and @temporalio/proto), so their protojson
 * `instanceof Type` check throws "type must be a Type". Use the copy @temporalio/proto's types were
 * built with; `npm dedupe` would let the SDK helpers work again.
 */
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto'))] })) as {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown): History | null;
};
const historyType = (patchProtobufRoot(proto as Record<string, unknown>) as { lookupType?(name: string): unknown }).lookupType!(
  'temporal.api.history.v1.History',
);

export function readHistoryFixture(file: string): History {
  const history = protojson.fromJson(historyType, JSON.parse(readFileSync(file, 'utf8')));
  if (!history?.events?.length) throw new TypeError(`Invalid history fixture ${file}`);
  return history;
}

export function writeHistoryFixture(file: string, history: History): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2) + '\n');
}

/**
 * The commands a run issued, in order (what replay compares), without task bookkeeping. Event types
 * are enum numbers in a history: named first, or the filter would keep every workflow task, whose
 * number depends on timing (an extra task under load failed the periodic payment's recorder).
 */
export function commandSequence(history: History): string[] {
  const eventTypes = proto.temporal.api.enums.v1.EventType as unknown as Record<number, string>;
  return history.events!
    .map((e) => (typeof e.eventType === 'number' ? (eventTypes[e.eventType] ?? String(e.eventType)) : String(e.eventType)))
    .filter((t) => !/WORKFLOW_TASK|ACTIVITY_TASK_(STARTED|COMPLETED)/.test(t));
}

/** Replay and recording run in the test process: keep the SDK's own logs to warnings. */
export function installQuietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' } } } });
  } catch {
    // Already installed in this process.
  }
}

/** The activity types a history scheduled, in order. */
export function activitiesOf(history: History): string[] {
  return history.events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

/** The activity types of a history's local activities (their markers), in order. */
export function localActivitiesOf(history: History): string[] {
  return history.events!.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_local_activity') return [];
    const data = m.details?.data?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')).activity_type as string] : ['?'];
  });
}

/** Patch ids recorded as markers (`patched()` on first execution). */
export function patchesOf(history: History): string[] {
  return history.events!.flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')).id as string] : [];
  });
}

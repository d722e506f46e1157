import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { statusViewQuery, type StatusView } from '../../workflows/shared/status-view';

/** What the Temporal UI shows of a workflow: static summary and details, current details. */
export async function uiMetadataOf(handle: WorkflowHandle): Promise<{ summary?: string; details?: string; current: string }> {
  const d = await handle.describe();
  const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
  return { summary: await d.staticSummary(), details: await d.staticDetails(), current: meta.currentDetails };
}

export function statusViewOf(handle: WorkflowHandle): Promise<StatusView> {
  return handle.query(statusViewQuery);
}

/** The summaries the UI shows beside the history's events: activities and timers, in order. */
export async function eventSummaries(handle: WorkflowHandle): Promise<{ activities: string[]; timers: string[]; all: string }> {
  const history = await handle.fetchHistory();
  const activities: string[] = [];
  const timers: string[] = [];
  const texts: string[] = [];
  for (const e of history.events ?? []) {
    const summary = decode(e.userMetadata?.summary);
    const details = decode(e.userMetadata?.details);
    if (summary) texts.push(summary);
    if (details) texts.push(details);
    if (!summary) continue;
    // A local activity (a status record) carries its summary on its marker.
    if (e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes?.markerName === 'core_local_activity') activities.push(summary);
    if (e.timerStartedEventAttributes) timers.push(summary);
  }
  return { activities, timers, all: texts.join('\n') };
}

function decode(p: temporal.api.common.v1.IPayload | null | undefined): string | undefined {
  return p ? defaultPayloadConverter.fromPayload<string>(p as temporal.api.common.v1.Payload) : undefined;
}

/** Personal data of the test factories' requests: none of it may reach the UI. */
export const TEST_PII = ['DE89370400440532013000', 'NL91ABNA0417164300', 'Enterprise GmbH', 'Invoice 2026-0042'];

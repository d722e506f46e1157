/**
 * Cancellation authorisations of single payments at the sandbox bank (BG `cancellation-authorisations`).
 *
 * A single payment with a `requestedExecutionDate` after the bank's today is, once authorised,
 * accepted and waiting (`ACCP`): `DELETE` then answers 202 with `_links.startAuthorisation`, and the
 * PSU must authorise the cancellation (same approach and PSU behaviour as at initiation: redirect
 * page `/sca/cancellations/{id}` or the decoupled app). Approved → `CANC`, never executed; denied →
 * the payment stays `ACCP` and executes on its date. Payments executed at once are not cancellable
 * after SCA (405), as before.
 */
import { randomUUID } from 'node:crypto';
import type { ScaStatus } from '../../../libs/domain/transaction-status';

type Approach = 'REDIRECT' | 'DECOUPLED';
type Decision = 'approve' | 'deny';

interface CancellationAuthorisation {
  id: string;
  paymentId: string;
  approach: Approach;
  createdAt: number;
  pageOpened: boolean;
  decision?: { outcome: Decision; at: number };
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
}

interface CancellationRequest {
  approach: Approach;
  decoupledDecision: Decision;
  ids: string[];
}

export class SingleCancellations {
  private readonly requests = new Map<string, CancellationRequest>();
  private readonly authorisations = new Map<string, CancellationAuthorisation>();

  constructor(private readonly settings: { now: () => number; decoupledDelayMs: number }) {}

  /** DELETE answered 202 for this payment: cancellation authorisations may be started. */
  request(paymentId: string, approach: Approach, decoupledDecision: Decision): void {
    if (!this.requests.has(paymentId)) this.requests.set(paymentId, { approach, decoupledDecision, ids: [] });
  }

  requested(paymentId: string): boolean {
    return this.requests.has(paymentId);
  }

  start(paymentId: string, redirect: { tppRedirectUri?: string; tppNokRedirectUri?: string }): CancellationAuthorisation | undefined {
    const request = this.requests.get(paymentId);
    if (!request) return undefined;
    const authorisation: CancellationAuthorisation = { id: randomUUID(), paymentId, approach: request.approach, createdAt: this.settings.now(), pageOpened: false, ...redirect };
    this.authorisations.set(authorisation.id, authorisation);
    request.ids.push(authorisation.id);
    return authorisation;
  }

  list(paymentId: string): string[] {
    return [...(this.requests.get(paymentId)?.ids ?? [])];
  }

  find(paymentId: string, id: string): CancellationAuthorisation | undefined {
    const authorisation = this.authorisations.get(id);
    return authorisation?.paymentId === paymentId ? authorisation : undefined;
  }

  /** When the PSU approved the cancellation (the first decision of any of its authorisations), if so. */
  approvedAt(paymentId: string): number | undefined {
    let first: { outcome: Decision; at: number } | undefined;
    for (const id of this.requests.get(paymentId)?.ids ?? []) {
      const d = this.decisionOf(this.authorisations.get(id)!);
      if (d && (!first || d.at < first.at)) first = d;
    }
    return first?.outcome === 'approve' ? first.at : undefined;
  }

  scaStatusOf(authorisation: CancellationAuthorisation): ScaStatus {
    const decision = this.decisionOf(authorisation);
    if (decision) return decision.outcome === 'approve' ? 'finalised' : 'failed';
    if (authorisation.approach === 'DECOUPLED') return 'started';
    return authorisation.pageOpened ? 'started' : 'received';
  }

  /** The redirect page. */
  open(id: string): { kind: 'unknown' } | { kind: 'done'; reason: string } | { kind: 'pending'; paymentId: string } {
    const authorisation = this.authorisations.get(id);
    if (!authorisation || authorisation.approach !== 'REDIRECT') return { kind: 'unknown' };
    if (authorisation.decision || this.approvedAt(authorisation.paymentId) !== undefined) return { kind: 'done', reason: 'This cancellation was already decided.' };
    authorisation.pageOpened = true;
    return { kind: 'pending', paymentId: authorisation.paymentId };
  }

  decide(id: string, outcome: Decision): { kind: 'unknown' } | { kind: 'refused'; reason: string } | { kind: 'decided'; scaStatus: ScaStatus; redirectTo?: string } {
    const authorisation = this.authorisations.get(id);
    if (!authorisation || authorisation.approach !== 'REDIRECT') return { kind: 'unknown' };
    if (authorisation.decision || this.approvedAt(authorisation.paymentId) !== undefined) return { kind: 'refused', reason: 'This cancellation was already decided.' };
    authorisation.decision = { outcome, at: this.settings.now() };
    const ok = authorisation.tppRedirectUri;
    return { kind: 'decided', scaStatus: this.scaStatusOf(authorisation), redirectTo: outcome === 'approve' ? ok : (authorisation.tppNokRedirectUri ?? ok) };
  }

  private decisionOf(authorisation: CancellationAuthorisation): { outcome: Decision; at: number } | undefined {
    if (authorisation.decision) return authorisation.decision;
    if (authorisation.approach !== 'DECOUPLED') return undefined;
    const at = authorisation.createdAt + this.settings.decoupledDelayMs;
    if (at > this.settings.now()) return undefined;
    return { outcome: this.requests.get(authorisation.paymentId)!.decoupledDecision, at };
  }
}

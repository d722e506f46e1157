/** Interledger Open Payments transfers, in Clearway's terms. */
/**
 * `unknown`: the wallet may or may not hold the payment (its creation was never confirmed, or it
 * was not confirmed sent in time). Not final: Clearway keeps looking it up, and an operator can
 * decide it; either way it ends `completed` or `failed`, never guessed.
 */
export const TRANSFER_STATUSES = ['quoting', 'awaiting_authorisation', 'sending', 'unknown', 'completed', 'failed', 'rejected', 'expired', 'cancelled'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

export const FINAL_TRANSFER_STATUSES: ReadonlySet<TransferStatus> = new Set(['completed', 'failed', 'rejected', 'expired', 'cancelled']);

export function isFinalTransferStatus(status: TransferStatus): boolean {
  return FINAL_TRANSFER_STATUSES.has(status);
}

/**
 * The largest amount value Clearway accepts: a signed 64-bit integer, what wallets store
 * (Rafiki keeps amounts as PostgreSQL `bigint`) and what our own `bigint` columns hold.
 */
export const MAX_AMOUNT_VALUE = 2n ** 63n - 1n;

/**
 * Whether the wallet's finish redirect reports the PSU's approval, in Clearway's words: GNAP's
 * vocabulary stays here. `result=grant_rejected`, or no `interact_ref`, is no approval; an
 * `interact_ref` is an approval still to be proven by its hash (RFC 9635 §4.2.3).
 */
export function isGrantApproved<F extends { interactRef?: string; result?: string }>(finish: F): finish is F & { interactRef: string } {
  return finish.result !== 'grant_rejected' && !!finish.interactRef;
}

import type { AccountReadRequest } from '../../../workflows/consent.api';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { isIsoDate } from '../consents/consent-request.validator';

const BOOKING_STATUSES = new Set(['booked', 'pending', 'both']);

export interface TransactionQueryParams {
  dateFrom?: string;
  dateTo?: string;
  bookingStatus?: string;
  entryReferenceFrom?: string;
  deltaList?: string;
  withBalance?: string;
  page?: string;
}

/** BG's rules for a transaction listing, as 400s naming the parameter. */
export function validateTransactionQuery(q: TransactionQueryParams, page: string | undefined): NonNullable<AccountReadRequest['query']> {
  const bookingStatus = q.bookingStatus ?? 'booked';
  if (!BOOKING_STATUSES.has(bookingStatus)) {
    throw new ApiError(ApiErrorCode.ParameterNotSupported, `bookingStatus: must be booked, pending or both, not "${bookingStatus}"`, 'bookingStatus');
  }
  const query: NonNullable<AccountReadRequest['query']> = { bookingStatus: bookingStatus as 'booked' | 'pending' | 'both' };
  if (page) return { ...query, page };
  for (const name of ['dateFrom', 'dateTo'] as const) {
    const value = q[name];
    if (value === undefined) continue;
    if (!isIsoDate(value)) throw ApiError.format(name, 'must be an ISO date (YYYY-MM-DD)');
    query[name] = value;
  }
  if (query.dateFrom && query.dateTo && query.dateFrom > query.dateTo) {
    throw new ApiError(ApiErrorCode.PeriodInvalid, `dateFrom (${query.dateFrom}) is after dateTo (${query.dateTo})`, 'dateFrom');
  }
  if (q.entryReferenceFrom !== undefined) {
    if (!/^[\w.:-]{1,64}$/.test(q.entryReferenceFrom)) throw ApiError.format('entryReferenceFrom', 'is not a valid entry reference');
    query.entryReferenceFrom = q.entryReferenceFrom;
  }
  if (q.deltaList !== undefined) query.deltaList = parseBoolean('deltaList', q.deltaList);
  if (!query.dateFrom && !query.entryReferenceFrom && !query.deltaList) {
    throw ApiError.format('dateFrom', 'is required unless entryReferenceFrom or deltaList is given');
  }
  return query;
}

export function parseBoolean(name: string, raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw ApiError.format(name, 'must be true or false');
}

/**
 * Route plumbing the payment-service controllers share (single `payments`, `bulk-payments`,
 * `periodic-payments`, `cancellation-authorisations`): the `{payment-product}` and `{paymentId}`
 * pipes and the initiation headers read from the request.
 */
import { Injectable, type PipeTransform } from '@nestjs/common';
import type { Request } from 'express';
import { isBulkPaymentProduct, type BulkPaymentProduct } from '../../../libs/domain/bulk-payment';
import { isUuid } from '../../../libs/domain/ids';
import { isPaymentProduct, type PaymentProduct } from '../../../libs/domain/payment';
import { ApiError, ApiErrorCode } from '../common/api-error';
import type { InitiationHeaders } from './payments.service';

@Injectable()
export class PaymentProductPipe implements PipeTransform<string, PaymentProduct> {
  transform(value: string): PaymentProduct {
    if (!isPaymentProduct(value)) throw new ApiError(ApiErrorCode.ProductUnknown, `Unknown payment product "${value}"`, 'payment-product');
    return value;
  }
}

@Injectable()
export class BulkProductPipe implements PipeTransform<string, BulkPaymentProduct> {
  transform(value: string): BulkPaymentProduct {
    if (!isBulkPaymentProduct(value)) throw new ApiError(ApiErrorCode.ProductUnknown, `Unknown bulk payment product "${value}"`, 'payment-product');
    return value;
  }
}

/** `{payment-product}` of any payment service (`cancellation-authorisations`): the service's lookup checks it fits. */
@Injectable()
export class AnyPaymentProductPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isPaymentProduct(value) && !isBulkPaymentProduct(value)) throw new ApiError(ApiErrorCode.ProductUnknown, `Unknown payment product "${value}"`, 'payment-product');
    return value;
  }
}

/** Our payment ids are UUIDs: anything else cannot exist (404 naming `what`). */
function uuidIdPipe(what: string) {
  @Injectable()
  class UuidIdPipe implements PipeTransform<string, string> {
    transform(value: string): string {
      if (!isUuid(value)) throw ApiError.notFound(`${what} ${value}`);
      return value.toLowerCase();
    }
  }
  return UuidIdPipe;
}

export const PaymentIdPipe = uuidIdPipe('Payment');
export const BulkPaymentIdPipe = uuidIdPipe('Bulk payment');

/** The headers every payment initiation (single, bulk, periodic) passes to its service. */
export function initiationHeaders(req: Request): InitiationHeaders {
  return {
    requestId: req.header('x-request-id')!,
    bicFi: req.header('x-bicfi'),
    psuIpAddress: req.header('psu-ip-address'),
    psuId: req.header('psu-id'),
    redirectUri: req.header('tpp-redirect-uri'),
    nokRedirectUri: req.header('tpp-nok-redirect-uri'),
  };
}

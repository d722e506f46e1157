import { Controller, Delete, Get, Headers, Inject, Injectable, Param, Post, Put, Req, Res, UseGuards, Body, type PipeTransform } from '@nestjs/common';
import type { Response } from 'express';
import { isUuid } from '../../../libs/domain/ids';
import { isPaymentProduct, type PaymentProduct } from '../../../libs/domain/payment';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { sendHttpResult } from '../common/http-result';
import { CancellationAuthorisationsService } from './cancellation-authorisations.service';
import { PeriodicPaymentsService } from './periodic-payments.service';

@Injectable()
class ProductPipe implements PipeTransform<string, PaymentProduct> {
  transform(value: string): PaymentProduct {
    if (!isPaymentProduct(value)) throw new ApiError(ApiErrorCode.ProductUnknown, `Unknown payment product "${value}"`, 'payment-product');
    return value;
  }
}

@Injectable()
class IdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw ApiError.notFound(`Payment ${value}`);
    return value.toLowerCase();
  }
}

/**
 * Periodic payments (standing orders), OPE 1.3.3 / BG 1.3.12 `periodic-payments`. `Consent-ID`
 * (optional) names the client's AIS consent through which Clearway sees the executions.
 */
@Controller('psd2/paymentinitiation/v1/periodic-payments/:paymentProduct')
@UseGuards(AuthGuard)
@RequiresService('paymentinitiation')
export class PeriodicPaymentsController {
  constructor(@Inject(PeriodicPaymentsService) private readonly periodic: PeriodicPaymentsService) {}

  @Post()
  async initiate(@Req() req: AuthenticatedRequest, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Body() body: unknown, @Res() res: Response) {
    const result = await this.periodic.initiate(
      req.principal,
      product,
      {
        requestId: req.header('x-request-id')!,
        bicFi: req.header('x-bicfi'),
        psuIpAddress: req.header('psu-ip-address'),
        psuId: req.header('psu-id'),
        redirectUri: req.header('tpp-redirect-uri'),
        nokRedirectUri: req.header('tpp-nok-redirect-uri'),
        consentId: req.header('consent-id'),
      },
      body,
    );
    sendHttpResult(res, result);
  }

  @Get(':paymentId')
  get(@Req() req: AuthenticatedRequest, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Param('paymentId', IdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.get(req.principal, product, id, bicFi);
  }

  @Get(':paymentId/status')
  status(@Req() req: AuthenticatedRequest, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Param('paymentId', IdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.status(req.principal, product, id, bicFi);
  }

  /** Clearway extension: the executions observed at the bank. */
  @Get(':paymentId/executions')
  executions(@Req() req: AuthenticatedRequest, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Param('paymentId', IdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.executions(req.principal, product, id, bicFi);
  }

  @Delete(':paymentId')
  async cancel(@Req() req: AuthenticatedRequest, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Param('paymentId', IdPipe) id: string, @Res() res: Response, @Headers('x-bicfi') bicFi?: string) {
    sendHttpResult(res, await this.periodic.cancel(req.principal, product, id, bicFi));
  }

  @Post(':paymentId/authorisations')
  async startAuthorisation(@Req() req: AuthenticatedRequest, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Param('paymentId', IdPipe) id: string, @Res() res: Response, @Headers('x-bicfi') bicFi?: string) {
    sendHttpResult(res, { status: 201, body: await this.periodic.startAuthorisation(req.principal, product, id, bicFi) });
  }

  @Get(':paymentId/authorisations')
  listAuthorisations(@Req() req: AuthenticatedRequest, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Param('paymentId', IdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.listAuthorisations(req.principal, product, id, bicFi);
  }

  @Get(':paymentId/authorisations/:authorisationId')
  getAuthorisation(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', ProductPipe) product: PaymentProduct,
    @Param('paymentId', IdPipe) id: string,
    @Param('authorisationId') authorisationId: string,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.periodic.getAuthorisation(req.principal, product, id, authorisationId, bicFi);
  }
}

/**
 * BG `cancellation-authorisations` of any payment service registered in
 * `cancellation-authorisations.service.ts` (`{payment-service}` = payments, periodic-payments, ...).
 */
@Controller('psd2/paymentinitiation/v1/:paymentService/:paymentProduct/:paymentId/cancellation-authorisations')
@UseGuards(AuthGuard)
@RequiresService('paymentinitiation')
export class CancellationAuthorisationsController {
  constructor(@Inject(CancellationAuthorisationsService) private readonly cancellations: CancellationAuthorisationsService) {}

  @Post()
  async start(
    @Req() req: AuthenticatedRequest,
    @Param('paymentService') service: string,
    @Param('paymentProduct', ProductPipe) product: PaymentProduct,
    @Param('paymentId', IdPipe) id: string,
    @Res() res: Response,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    sendHttpResult(res, { status: 201, body: await this.cancellations.start(req.principal, service, product, id, bicFi) });
  }

  @Get()
  list(@Req() req: AuthenticatedRequest, @Param('paymentService') service: string, @Param('paymentProduct', ProductPipe) product: PaymentProduct, @Param('paymentId', IdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.cancellations.list(req.principal, service, product, id, bicFi);
  }

  @Get(':cancellationId')
  get(
    @Req() req: AuthenticatedRequest,
    @Param('paymentService') service: string,
    @Param('paymentProduct', ProductPipe) product: PaymentProduct,
    @Param('paymentId', IdPipe) id: string,
    @Param('cancellationId') cancellationId: string,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.cancellations.get(req.principal, service, product, id, cancellationId, bicFi);
  }

  @Put(':cancellationId')
  update(
    @Req() req: AuthenticatedRequest,
    @Param('paymentService') service: string,
    @Param('paymentProduct', ProductPipe) product: PaymentProduct,
    @Param('paymentId', IdPipe) id: string,
    @Param('cancellationId') cancellationId: string,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.cancellations.update(req.principal, service, product, id, cancellationId, bicFi);
  }
}

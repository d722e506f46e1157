import { Controller, Delete, Get, Headers, Inject, Param, Post, Put, Req, Res, UseGuards, Body } from '@nestjs/common';
import type { Response } from 'express';
import type { PaymentProduct } from '../../../libs/domain/payment';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { sendHttpResult } from '../common/http-result';
import { CancellationAuthorisationsService } from './cancellation-authorisations.service';
import { PeriodicPaymentsService } from './periodic-payments.service';
import { AnyPaymentProductPipe, initiationHeaders, PaymentIdPipe, PaymentProductPipe } from './payment-route-params';

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
  async initiate(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Body() body: unknown, @Res() res: Response) {
    const result = await this.periodic.initiate(
      req.principal,
      product,
      { ...initiationHeaders(req), consentId: req.header('consent-id') },
      body,
    );
    sendHttpResult(res, result);
  }

  @Get(':paymentId')
  get(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.get(req.principal, product, id, bicFi);
  }

  @Get(':paymentId/status')
  status(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.status(req.principal, product, id, bicFi);
  }

  /** Clearway extension: the executions observed at the bank. */
  @Get(':paymentId/executions')
  executions(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.executions(req.principal, product, id, bicFi);
  }

  @Delete(':paymentId')
  async cancel(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Res() res: Response, @Headers('x-bicfi') bicFi?: string) {
    sendHttpResult(res, await this.periodic.cancel(req.principal, product, id, bicFi));
  }

  @Post(':paymentId/authorisations')
  async startAuthorisation(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Res() res: Response, @Headers('x-bicfi') bicFi?: string) {
    sendHttpResult(res, { status: 201, body: await this.periodic.startAuthorisation(req.principal, product, id, bicFi) });
  }

  @Get(':paymentId/authorisations')
  listAuthorisations(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.periodic.listAuthorisations(req.principal, product, id, bicFi);
  }

  @Get(':paymentId/authorisations/:authorisationId')
  getAuthorisation(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct,
    @Param('paymentId', PaymentIdPipe) id: string,
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
    @Param('paymentProduct', AnyPaymentProductPipe) product: string,
    @Param('paymentId', PaymentIdPipe) id: string,
    @Res() res: Response,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    sendHttpResult(res, { status: 201, body: await this.cancellations.start(req.principal, service, product, id, bicFi) });
  }

  @Get()
  list(@Req() req: AuthenticatedRequest, @Param('paymentService') service: string, @Param('paymentProduct', AnyPaymentProductPipe) product: string, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.cancellations.list(req.principal, service, product, id, bicFi);
  }

  @Get(':cancellationId')
  get(
    @Req() req: AuthenticatedRequest,
    @Param('paymentService') service: string,
    @Param('paymentProduct', AnyPaymentProductPipe) product: string,
    @Param('paymentId', PaymentIdPipe) id: string,
    @Param('cancellationId') cancellationId: string,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.cancellations.get(req.principal, service, product, id, cancellationId, bicFi);
  }

  @Put(':cancellationId')
  update(
    @Req() req: AuthenticatedRequest,
    @Param('paymentService') service: string,
    @Param('paymentProduct', AnyPaymentProductPipe) product: string,
    @Param('paymentId', PaymentIdPipe) id: string,
    @Param('cancellationId') cancellationId: string,
    @Body() body: unknown,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.cancellations.update(req.principal, service, product, id, cancellationId, bicFi, body);
  }
}

import { Body, Controller, Delete, Get, Headers, Inject, Param, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import type { PaymentProduct } from '../../../libs/domain/payment';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { sendHttpResult } from '../common/http-result';
import { PaymentsService } from './payments.service';
import { initiationHeaders, PaymentIdPipe, PaymentProductPipe } from './payment-route-params';
import { TppNotificationsService } from '../webhooks/tpp-notifications.service';

/** Payment Initiation Service (single payments). Thin: validation and use cases live in PaymentsService. */
@Controller('psd2/paymentinitiation/v1/payments/:paymentProduct')
@UseGuards(AuthGuard)
@RequiresService('paymentinitiation')
export class PaymentsController {
  constructor(
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(TppNotificationsService) private readonly notifications: TppNotificationsService,
  ) {}

  @Post()
  async initiate(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct,
    @Body() body: unknown,
    @Res() res: Response,
  ) {
    const notification = await this.notifications.accept(req.principal, req.header('tpp-notification-uri'), req.header('tpp-notification-content-preferred'));
    const result = await this.payments.initiate(
      req.principal,
      product,
      initiationHeaders(req),
      body,
    );
    sendHttpResult(res, await this.notifications.attach(req.principal, result, notification, 'paymentId'));
  }

  @Get(':paymentId')
  get(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.payments.get(req.principal, product, id, bicFi);
  }

  @Get(':paymentId/status')
  status(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.payments.status(req.principal, product, id, bicFi);
  }

  @Delete(':paymentId')
  async cancel(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct,
    @Param('paymentId', PaymentIdPipe) id: string,
    @Res() res: Response,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    sendHttpResult(res, await this.payments.cancel(req.principal, product, id, bicFi));
  }

  @Post(':paymentId/authorisations')
  async startAuthorisation(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct,
    @Param('paymentId', PaymentIdPipe) id: string,
    @Res() res: Response,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    sendHttpResult(res, { status: 201, body: await this.payments.startAuthorisation(req.principal, product, id, bicFi) });
  }

  @Get(':paymentId/authorisations')
  listAuthorisations(@Req() req: AuthenticatedRequest, @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct, @Param('paymentId', PaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.payments.listAuthorisations(req.principal, product, id, bicFi);
  }

  @Put(':paymentId/authorisations/:authorisationId')
  updatePsuData(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct,
    @Param('paymentId', PaymentIdPipe) id: string,
    @Param('authorisationId') authorisationId: string,
    @Body() body: unknown,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.payments.updatePsuData(req.principal, product, id, authorisationId, bicFi, body);
  }

  @Get(':paymentId/authorisations/:authorisationId')
  getAuthorisation(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', PaymentProductPipe) product: PaymentProduct,
    @Param('paymentId', PaymentIdPipe) id: string,
    @Param('authorisationId') authorisationId: string,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.payments.getAuthorisation(req.principal, product, id, authorisationId, bicFi);
  }
}

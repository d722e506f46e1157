import { Controller, Delete, Get, Headers, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import type { BulkPaymentProduct } from '../../../libs/domain/bulk-payment';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { sendHttpResult } from '../common/http-result';
import type { WithXmlBody } from './bulk-body-parsers';
import { BulkPaymentsService } from './bulk-payments.service';
import { BulkPaymentIdPipe, BulkProductPipe, initiationHeaders } from './payment-route-params';

/** Bulk payments (`payment-service` = bulk-payments), JSON and pain.001. Thin: the use cases live in BulkPaymentsService. */
@Controller('psd2/paymentinitiation/v1/bulk-payments/:paymentProduct')
@UseGuards(AuthGuard)
@RequiresService('paymentinitiation')
export class BulkPaymentsController {
  constructor(@Inject(BulkPaymentsService) private readonly bulks: BulkPaymentsService) {}

  @Post()
  async initiate(@Req() req: AuthenticatedRequest & WithXmlBody, @Param('paymentProduct', BulkProductPipe) product: BulkPaymentProduct, @Res() res: Response) {
    const result = await this.bulks.initiate(
      req.principal,
      product,
      initiationHeaders(req),
      req.xmlBody ? { xml: req.xmlBody } : { json: req.body },
    );
    sendHttpResult(res, result);
  }

  @Get(':paymentId')
  get(@Req() req: AuthenticatedRequest, @Param('paymentProduct', BulkProductPipe) product: BulkPaymentProduct, @Param('paymentId', BulkPaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.bulks.get(req.principal, product, id, bicFi);
  }

  /** JSON by default; `Accept: application/xml` answers a pain.002.001.10 status report. */
  @Get(':paymentId/status')
  async status(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', BulkProductPipe) product: BulkPaymentProduct,
    @Param('paymentId', BulkPaymentIdPipe) id: string,
    @Res() res: Response,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    if (req.accepts(['application/json', 'application/xml']) !== 'application/xml') {
      return sendHttpResult(res, { status: 200, body: await this.bulks.status(req.principal, product, id, bicFi) });
    }
    // Checked before the first byte goes out, so a refusal is still a normal error response.
    await this.bulks.status(req.principal, product, id, bicFi);
    res.status(200).type('application/xml');
    await this.bulks.writeStatusReport(req.principal, product, id, bicFi, res);
    res.end();
  }

  @Delete(':paymentId')
  async cancel(@Req() req: AuthenticatedRequest, @Param('paymentProduct', BulkProductPipe) product: BulkPaymentProduct, @Param('paymentId', BulkPaymentIdPipe) id: string, @Res() res: Response, @Headers('x-bicfi') bicFi?: string) {
    sendHttpResult(res, await this.bulks.cancel(req.principal, product, id, bicFi));
  }

  @Post(':paymentId/authorisations')
  async startAuthorisation(@Req() req: AuthenticatedRequest, @Param('paymentProduct', BulkProductPipe) product: BulkPaymentProduct, @Param('paymentId', BulkPaymentIdPipe) id: string, @Res() res: Response, @Headers('x-bicfi') bicFi?: string) {
    sendHttpResult(res, { status: 201, body: await this.bulks.startAuthorisation(req.principal, product, id, bicFi) });
  }

  @Get(':paymentId/authorisations')
  listAuthorisations(@Req() req: AuthenticatedRequest, @Param('paymentProduct', BulkProductPipe) product: BulkPaymentProduct, @Param('paymentId', BulkPaymentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.bulks.listAuthorisations(req.principal, product, id, bicFi);
  }

  @Get(':paymentId/authorisations/:authorisationId')
  getAuthorisation(
    @Req() req: AuthenticatedRequest,
    @Param('paymentProduct', BulkProductPipe) product: BulkPaymentProduct,
    @Param('paymentId', BulkPaymentIdPipe) id: string,
    @Param('authorisationId') authorisationId: string,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.bulks.getAuthorisation(req.principal, product, id, authorisationId, bicFi);
  }
}

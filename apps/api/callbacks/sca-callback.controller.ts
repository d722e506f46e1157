import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ConsentsService } from '../consents/consents.service';
import { PaymentsService } from '../payments/payments.service';
import { BulkPaymentsService } from '../payments/bulk-payments.service';

/**
 * Where banks send the PSU after redirect SCA (the TPP-Redirect-URI we give them). A browser
 * arrives here, not an API client: no token and no X-Request-ID, authenticity comes from `state`.
 */
@Controller('callbacks')
export class ScaCallbackController {
  constructor(
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(ConsentsService) private readonly consents: ConsentsService,
    @Inject(BulkPaymentsService) private readonly bulkPayments: BulkPaymentsService,
  ) {}

  @Get('payments/:paymentId/sca')
  async paymentScaReturned(@Param('paymentId') id: string, @Query('result') result: string | undefined, @Query('state') state: string | undefined, @Res() res: Response) {
    backToClient(res, await this.payments.handleScaCallback(id, result, state));
  }

  @Get('bulk-payments/:paymentId/sca')
  async bulkPaymentScaReturned(@Param('paymentId') id: string, @Query('result') result: string | undefined, @Query('state') state: string | undefined, @Res() res: Response) {
    backToClient(res, await this.bulkPayments.handleScaCallback(id, result, state));
  }

  @Get('consents/:consentId/sca')
  async consentScaReturned(@Param('consentId') id: string, @Query('result') result: string | undefined, @Query('state') state: string | undefined, @Res() res: Response) {
    backToClient(res, await this.consents.handleScaCallback(id, result, state));
  }
}

function backToClient(res: Response, next: string | undefined): void {
  if (next) return res.redirect(302, next);
  res.status(200).type('html').send('<!doctype html><title>Clearway</title><p>Thank you. The bank has your answer; you can close this window.</p>');
}

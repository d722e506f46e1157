import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { PaymentsService } from './payments.service';

/**
 * Where banks send the PSU after redirect SCA (the TPP-Redirect-URI we give them). A browser
 * arrives here, not an API client: no token and no X-Request-ID, authenticity comes from `state`.
 */
@Controller('callbacks/payments')
export class ScaCallbackController {
  constructor(@Inject(PaymentsService) private readonly payments: PaymentsService) {}

  @Get(':paymentId/sca')
  async scaReturned(@Param('paymentId') paymentId: string, @Query('result') result: string | undefined, @Query('state') state: string | undefined, @Res() res: Response) {
    const next = await this.payments.handleScaCallback(paymentId, result, state);
    if (next) return res.redirect(302, next);
    res
      .status(200)
      .type('html')
      .send('<!doctype html><title>Clearway</title><p>Thank you. The bank has your answer; you can close this window.</p>');
  }
}

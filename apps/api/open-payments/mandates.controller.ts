import { Body, Controller, Delete, Get, Inject, Injectable, Param, Post, Query, Req, Res, UseGuards, type PipeTransform } from '@nestjs/common';
import type { Response } from 'express';
import { isUuid } from '../../../libs/domain/ids';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { ApiError } from '../common/api-error';
import { sendHttpResult } from '../common/http-result';
import { MandatesService } from './mandates.service';

@Injectable()
class MandateIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw ApiError.notFound(`Mandate ${value}`);
    return value.toLowerCase();
  }
}

/** Recurring Open Payments: one grant with an interval limit, one payment per period. */
@Controller('openpayments/v1/mandates')
@UseGuards(AuthGuard)
@RequiresService('paymentinitiation')
export class MandatesController {
  constructor(@Inject(MandatesService) private readonly mandates: MandatesService) {}

  @Post()
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res() res: Response) {
    sendHttpResult(res, await this.mandates.create(req.principal, req.header('x-request-id')!, body));
  }

  @Get(':mandateId')
  get(@Req() req: AuthenticatedRequest, @Param('mandateId', MandateIdPipe) id: string) {
    return this.mandates.get(req.principal, id);
  }

  @Post(':mandateId/pause')
  pause(@Req() req: AuthenticatedRequest, @Param('mandateId', MandateIdPipe) id: string) {
    return this.mandates.pause(req.principal, id);
  }

  @Post(':mandateId/resume')
  resume(@Req() req: AuthenticatedRequest, @Param('mandateId', MandateIdPipe) id: string) {
    return this.mandates.resume(req.principal, id);
  }

  @Delete(':mandateId')
  cancel(@Req() req: AuthenticatedRequest, @Param('mandateId', MandateIdPipe) id: string) {
    return this.mandates.cancel(req.principal, id);
  }
}

/** Where the PSU's wallet sends them after approving (or denying) the mandate's grant. */
@Controller('openpayments/callbacks/mandates')
export class MandateFinishController {
  constructor(@Inject(MandatesService) private readonly mandates: MandatesService) {}

  @Get(':mandateId/finish')
  async finish(
    @Param('mandateId') id: string,
    @Query() query: { state?: string; hash?: string; interact_ref?: string; result?: string },
    @Res() res: Response,
  ) {
    const next = await this.mandates.handleFinish(id, query);
    if (next) return res.redirect(302, next);
    res.status(200).type('html').send('<!doctype html><title>Clearway</title><p>Thank you. Your wallet has your answer; you can close this window.</p>');
  }
}

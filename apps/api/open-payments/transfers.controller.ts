import { Body, Controller, Delete, Get, Inject, Injectable, Param, Post, Query, Req, Res, UseGuards, type PipeTransform } from '@nestjs/common';
import type { Response } from 'express';
import { isUuid } from '../../../libs/domain/ids';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { ApiError } from '../common/api-error';
import { sendHttpResult } from '../common/http-result';
import { TransfersService } from './transfers.service';

@Injectable()
class TransferIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw ApiError.notFound(`Transfer ${value}`);
    return value.toLowerCase();
  }
}

/** Interledger Open Payments transfers (grant → incoming payment → quote → interactive grant → outgoing payment). */
@Controller('openpayments/v1/transfers')
@UseGuards(AuthGuard)
@RequiresService('paymentinitiation')
export class TransfersController {
  constructor(@Inject(TransfersService) private readonly transfers: TransfersService) {}

  @Post()
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res() res: Response) {
    sendHttpResult(res, await this.transfers.create(req.principal, req.header('x-request-id')!, body));
  }

  @Get()
  list(@Req() req: AuthenticatedRequest, @Query('limit') limit?: string, @Query('before') before?: string) {
    const n = limit === undefined ? 20 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw ApiError.format('limit', 'must be an integer from 1 to 100');
    const cursor = before === undefined ? undefined : new Date(before);
    if (cursor && Number.isNaN(cursor.getTime())) throw ApiError.format('before', 'must be a timestamp from a next link');
    return this.transfers.list(req.principal, n, cursor);
  }

  @Get(':transferId')
  get(@Req() req: AuthenticatedRequest, @Param('transferId', TransferIdPipe) id: string) {
    return this.transfers.get(req.principal, id);
  }

  @Delete(':transferId')
  cancel(@Req() req: AuthenticatedRequest, @Param('transferId', TransferIdPipe) id: string) {
    return this.transfers.cancel(req.principal, id);
  }
}

/** Where the PSU's wallet sends them after the grant interaction (GNAP interact.finish). */
@Controller('openpayments/callbacks/transfers')
export class TransferFinishController {
  constructor(@Inject(TransfersService) private readonly transfers: TransfersService) {}

  @Get(':transferId/finish')
  async finish(
    @Param('transferId') id: string,
    @Query() query: { state?: string; hash?: string; interact_ref?: string; result?: string },
    @Res() res: Response,
  ) {
    const next = await this.transfers.handleFinish(id, query);
    if (next) return res.redirect(302, next);
    res.status(200).type('html').send('<!doctype html><title>Clearway</title><p>Thank you. Your wallet has your answer; you can close this window.</p>');
  }
}

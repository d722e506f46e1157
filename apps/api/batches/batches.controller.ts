import { Controller, Delete, Get, Inject, Injectable, Param, Post, Query, Req, Res, UseGuards, type PipeTransform } from '@nestjs/common';
import type { Response } from 'express';
import { isUuid } from '../../../libs/domain/ids';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { ApiError } from '../common/api-error';
import { sendHttpResult } from '../common/http-result';
import { BatchesService } from './batches.service';

@Injectable()
class BatchIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw ApiError.notFound(`Batch ${value}`);
    return value.toLowerCase();
  }
}

/**
 * ERP batches: a pain.001 file in, bulk and single payments out, one pain.002 back. Needs the
 * `paymentinitiation` scope, as every payment does. Thin: the use cases live in BatchesService.
 */
@Controller('batches/v1/batches')
@UseGuards(AuthGuard)
@RequiresService('paymentinitiation')
export class BatchesController {
  constructor(@Inject(BatchesService) private readonly batches: BatchesService) {}

  @Post()
  async submit(@Req() req: AuthenticatedRequest, @Res() res: Response) {
    const result = await this.batches.submit(
      req.principal,
      {
        requestId: req.header('x-request-id')!,
        contentType: req.header('content-type'),
        contentLength: req.header('content-length'),
        psuIpAddress: req.header('psu-ip-address'),
        psuId: req.header('psu-id'),
        redirectUri: req.header('tpp-redirect-uri'),
        nokRedirectUri: req.header('tpp-nok-redirect-uri'),
      },
      req,
    );
    sendHttpResult(res, result);
  }

  @Get()
  list(@Req() req: AuthenticatedRequest, @Query('limit') limit?: string, @Query('after') after?: string) {
    return this.batches.list(req.principal, { limit, after });
  }

  @Get(':batchId')
  get(@Req() req: AuthenticatedRequest, @Param('batchId', BatchIdPipe) batchId: string) {
    return this.batches.get(req.principal, batchId);
  }

  /** Cancels what has not executed (202 with the batch); 409 once the batch is final. */
  @Delete(':batchId')
  async cancel(@Req() req: AuthenticatedRequest, @Param('batchId', BatchIdPipe) batchId: string, @Res() res: Response) {
    sendHttpResult(res, await this.batches.cancel(req.principal, batchId));
  }

  @Get(':batchId/payments')
  payments(
    @Req() req: AuthenticatedRequest,
    @Param('batchId', BatchIdPipe) batchId: string,
    @Query('pmtInfId') pmtInfId?: string,
    @Query('limit') limit?: string,
    @Query('after') after?: string,
  ) {
    return this.batches.singlePayments(req.principal, batchId, { pmtInfId, limit, after });
  }

  @Get(':batchId/report')
  async report(@Req() req: AuthenticatedRequest, @Param('batchId', BatchIdPipe) batchId: string, @Res() res: Response) {
    await this.batches.report(req.principal, batchId, res);
  }
}

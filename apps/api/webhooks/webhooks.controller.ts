import { Body, Controller, Delete, Get, Inject, Injectable, Param, Patch, Post, Query, Req, Res, UseGuards, type PipeTransform } from '@nestjs/common';
import type { Response } from 'express';
import { isUuid } from '../../../libs/domain/ids';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { ApiError } from '../common/api-error';
import { sendHttpResult } from '../common/http-result';
import { WebhooksService } from './webhooks.service';

@Injectable()
class EndpointIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw ApiError.notFound(`Webhook endpoint ${value}`);
    return value.toLowerCase();
  }
}

/**
 * Webhook endpoints (Standard Webhooks signatures). Needs the `webhooks` scope: managing where a
 * tenant's payment events go is an administrative right, apart from initiating payments.
 */
@Controller('webhooks/v1')
@UseGuards(AuthGuard)
@RequiresService('webhooks')
export class WebhooksController {
  constructor(@Inject(WebhooksService) private readonly webhooks: WebhooksService) {}

  @Get('event-types')
  eventTypes() {
    return this.webhooks.eventTypes();
  }

  @Post('endpoints')
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res() res: Response) {
    sendHttpResult(res, await this.webhooks.create(req.principal, body));
  }

  @Get('endpoints')
  list(@Req() req: AuthenticatedRequest) {
    return this.webhooks.list(req.principal);
  }

  @Get('endpoints/:endpointId')
  get(@Req() req: AuthenticatedRequest, @Param('endpointId', EndpointIdPipe) id: string) {
    return this.webhooks.get(req.principal, id);
  }

  @Patch('endpoints/:endpointId')
  update(@Req() req: AuthenticatedRequest, @Param('endpointId', EndpointIdPipe) id: string, @Body() body: unknown) {
    return this.webhooks.update(req.principal, id, body);
  }

  @Delete('endpoints/:endpointId')
  async delete(@Req() req: AuthenticatedRequest, @Param('endpointId', EndpointIdPipe) id: string, @Res() res: Response) {
    sendHttpResult(res, await this.webhooks.delete(req.principal, id));
  }

  @Post('endpoints/:endpointId/rotate-secret')
  async rotateSecret(@Req() req: AuthenticatedRequest, @Param('endpointId', EndpointIdPipe) id: string, @Res() res: Response) {
    sendHttpResult(res, { status: 200, body: await this.webhooks.rotateSecret(req.principal, id) });
  }

  @Get('endpoints/:endpointId/deliveries')
  deliveries(
    @Req() req: AuthenticatedRequest,
    @Param('endpointId', EndpointIdPipe) id: string,
    @Query('limit') limit?: string,
    @Query('before') before?: string,
    @Query('status') status?: string,
  ) {
    return this.webhooks.deliveries(req.principal, id, { limit, before, status });
  }

  @Get('endpoints/:endpointId/deliveries/:deliveryId')
  delivery(@Req() req: AuthenticatedRequest, @Param('endpointId', EndpointIdPipe) id: string, @Param('deliveryId') deliveryId: string) {
    return this.webhooks.delivery(req.principal, id, deliveryId);
  }

  @Post('endpoints/:endpointId/deliveries/:deliveryId/retry')
  async retry(@Req() req: AuthenticatedRequest, @Param('endpointId', EndpointIdPipe) id: string, @Param('deliveryId') deliveryId: string, @Res() res: Response) {
    sendHttpResult(res, await this.webhooks.retry(req.principal, id, deliveryId));
  }

  @Post('endpoints/:endpointId/replay')
  async replay(
    @Req() req: AuthenticatedRequest,
    @Param('endpointId', EndpointIdPipe) id: string,
    @Query('since') since: string | undefined,
    @Query('until') until: string | undefined,
    @Res() res: Response,
  ) {
    sendHttpResult(res, await this.webhooks.replay(req.principal, id, since, until));
  }
}

import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Injectable, Param, Post, Put, Req, Res, UseGuards, type PipeTransform } from '@nestjs/common';
import type { Response } from 'express';
import { isUuid } from '../../../libs/domain/ids';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { ApiError } from '../common/api-error';
import { sendHttpResult } from '../common/http-result';
import { ConsentsService } from './consents.service';
import { TppNotificationsService } from '../webhooks/tpp-notifications.service';

@Injectable()
class ConsentIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isUuid(value)) throw ApiError.notFound(`Consent ${value}`);
    return value.toLowerCase();
  }
}

/** Consent Service: account-information consents and their authorisations. */
@Controller('psd2/consent/v1/consents')
@UseGuards(AuthGuard)
@RequiresService('accountinformation')
export class ConsentsController {
  constructor(
    @Inject(ConsentsService) private readonly consents: ConsentsService,
    @Inject(TppNotificationsService) private readonly notifications: TppNotificationsService,
  ) {}

  @Post()
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res() res: Response) {
    const notification = await this.notifications.accept(req.principal, req.header('tpp-notification-uri'), req.header('tpp-notification-content-preferred'));
    const result = await this.consents.create(
      req.principal,
      {
        requestId: req.header('x-request-id')!,
        bicFi: req.header('x-bicfi'),
        psuId: req.header('psu-id'),
        psuIpAddress: req.header('psu-ip-address'),
        redirectUri: req.header('tpp-redirect-uri'),
        nokRedirectUri: req.header('tpp-nok-redirect-uri'),
      },
      body,
    );
    sendHttpResult(res, await this.notifications.attach(req.principal, result, notification, 'consentId'));
  }

  @Get(':consentId')
  get(@Req() req: AuthenticatedRequest, @Param('consentId', ConsentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.consents.get(req.principal, id, bicFi);
  }

  @Get(':consentId/status')
  status(@Req() req: AuthenticatedRequest, @Param('consentId', ConsentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.consents.status(req.principal, id, bicFi);
  }

  @Delete(':consentId')
  @HttpCode(204)
  async terminate(@Req() req: AuthenticatedRequest, @Param('consentId', ConsentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    await this.consents.terminate(req.principal, id, bicFi);
  }

  @Post(':consentId/authorisations')
  @HttpCode(201)
  startAuthorisation(@Req() req: AuthenticatedRequest, @Param('consentId', ConsentIdPipe) id: string, @Body() body: unknown, @Headers('x-bicfi') bicFi?: string) {
    return this.consents.startAuthorisation(req.principal, id, bicFi, body);
  }

  @Get(':consentId/authorisations')
  listAuthorisations(@Req() req: AuthenticatedRequest, @Param('consentId', ConsentIdPipe) id: string, @Headers('x-bicfi') bicFi?: string) {
    return this.consents.listAuthorisations(req.principal, id, bicFi);
  }

  @Get(':consentId/authorisations/:authorisationId')
  getAuthorisation(
    @Req() req: AuthenticatedRequest,
    @Param('consentId', ConsentIdPipe) id: string,
    @Param('authorisationId') authorisationId: string,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.consents.getAuthorisation(req.principal, id, authorisationId, bicFi);
  }

  @Put(':consentId/authorisations/:authorisationId')
  updatePsuData(
    @Req() req: AuthenticatedRequest,
    @Param('consentId', ConsentIdPipe) id: string,
    @Param('authorisationId') authorisationId: string,
    @Body() body: unknown,
    @Headers('x-bicfi') bicFi?: string,
  ) {
    return this.consents.updatePsuData(req.principal, id, authorisationId, bicFi, body);
  }
}

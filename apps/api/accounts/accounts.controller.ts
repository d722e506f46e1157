import { Controller, Get, Inject, Param, Query, Req, UseGuards } from '@nestjs/common';
import { AuthGuard, RequiresService, type AuthenticatedRequest } from '../auth/auth.guard';
import { AccountInformationService, type AisHeaders } from './account-information.service';
import type { TransactionQueryParams } from './account-query.validator';

function aisHeaders(req: AuthenticatedRequest): AisHeaders {
  return {
    consentId: req.header('consent-id'),
    bicFi: req.header('x-bicfi'),
    psuIpAddress: req.header('psu-ip-address'),
    psuUserAgent: req.header('psu-user-agent'),
  };
}

/** Account Information Service. Every call needs Consent-ID and X-BicFi; PSU-IP-Address means the PSU is present. */
@Controller('psd2/accountinformation/v1/accounts')
@UseGuards(AuthGuard)
@RequiresService('accountinformation')
export class AccountsController {
  constructor(@Inject(AccountInformationService) private readonly ais: AccountInformationService) {}

  @Get()
  list(@Req() req: AuthenticatedRequest, @Query('withBalance') withBalance?: string) {
    return this.ais.listAccounts(req.principal, aisHeaders(req), withBalance);
  }

  @Get(':accountId')
  get(@Req() req: AuthenticatedRequest, @Param('accountId') accountId: string, @Query('withBalance') withBalance?: string) {
    return this.ais.getAccount(req.principal, aisHeaders(req), accountId, withBalance);
  }

  @Get(':accountId/balances')
  balances(@Req() req: AuthenticatedRequest, @Param('accountId') accountId: string) {
    return this.ais.balances(req.principal, aisHeaders(req), accountId);
  }

  @Get(':accountId/transactions')
  transactions(@Req() req: AuthenticatedRequest, @Param('accountId') accountId: string, @Query() query: TransactionQueryParams) {
    return this.ais.transactions(req.principal, aisHeaders(req), accountId, query);
  }

  @Get(':accountId/transactions/:transactionId')
  transaction(@Req() req: AuthenticatedRequest, @Param('accountId') accountId: string, @Param('transactionId') transactionId: string) {
    return this.ais.transaction(req.principal, aisHeaders(req), accountId, transactionId);
  }
}

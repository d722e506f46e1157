import { Body, Controller, Headers, HttpCode, Inject, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { TokenEndpoint } from '../common/rate-limits';
import { ClientAuthenticator } from './client-authenticator';
import { parseBasic, type TokenRequest } from './client-credentials';
import { OAuthError } from './oauth-error';
import { parseScope } from './scopes';
import { TokenService } from './token.service';

/** OAuth2 client credentials (RFC 6749 §4.4). Errors follow RFC 6749 §5.2, not tppMessages. */
@Controller('connect')
@TokenEndpoint()
export class TokenController {
  constructor(
    @Inject(ClientAuthenticator) private readonly clients: ClientAuthenticator,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {}

  @Post('token')
  @HttpCode(200)
  async token(@Body() body: TokenRequest | undefined, @Headers('authorization') authorization: string | undefined, @Res() res: Response) {
    res.setHeader('Cache-Control', 'no-store');
    const form = body ?? {};
    const basic = parseBasic(authorization);
    const clientId = basic?.clientId ?? form.client_id;
    const clientSecret = basic?.clientSecret ?? form.client_secret;
    if (form.grant_type !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    if (!clientId || !clientSecret) throw new OAuthError(401, 'invalid_client', 'client_id and client_secret are required');
    const client = await this.clients.authenticate(clientId, clientSecret);
    if (!client) throw new OAuthError(401, 'invalid_client', 'Unknown client or wrong secret');
    const scope = parseScope(form.scope ?? '');
    if ('error' in scope) throw new OAuthError(400, 'invalid_scope', scope.error);
    const denied = scope.services.filter((s) => !client.allowedScopes.includes(s));
    if (denied.length) throw new OAuthError(400, 'invalid_scope', `client is not allowed: ${denied.join(', ')}`);

    const { accessToken, expiresIn } = await this.tokens.issue({
      clientId: client.clientId,
      tenantId: client.tenantId,
      services: scope.services,
      context: scope.context,
    });
    return res.json({ access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', scope: [...scope.services, scope.context].join(' ') });
  }
}

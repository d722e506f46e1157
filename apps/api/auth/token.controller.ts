import { Body, Controller, Headers, HttpCode, Inject, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ClientRepository } from '../../../libs/persistence/client.repository';
import { findUnstorableText } from '../common/storable-text';
import { parseScope } from './scopes';
import { verifySecret } from './secret-hash';
import { TokenService } from './token.service';

type TokenRequest = Partial<Record<'grant_type' | 'client_id' | 'client_secret' | 'scope', string>>;

/** OAuth2 client credentials (RFC 6749 §4.4). Errors follow RFC 6749 §5.2, not tppMessages. */
@Controller('connect')
export class TokenController {
  constructor(
    @Inject(ClientRepository) private readonly clients: ClientRepository,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {}

  @Post('token')
  @HttpCode(200)
  async token(@Body() body: TokenRequest | undefined, @Headers('authorization') authorization: string | undefined, @Res() res: Response) {
    res.setHeader('Cache-Control', 'no-store');
    const fail = (status: number, error: string, description: string) =>
      res.status(status).json({ error, error_description: description });

    const form = body ?? {};
    const basic = parseBasic(authorization);
    const clientId = basic?.clientId ?? form.client_id;
    const clientSecret = basic?.clientSecret ?? form.client_secret;
    if (form.grant_type !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    }
    if (!clientId || !clientSecret) return fail(401, 'invalid_client', 'client_id and client_secret are required');
    const client = await this.clients.find(clientId);
    if (!client || !(await verifySecret(clientSecret, client.secretHash))) {
      return fail(401, 'invalid_client', 'Unknown client or wrong secret');
    }
    const scope = parseScope(form.scope ?? '');
    if ('error' in scope) return fail(400, 'invalid_scope', scope.error);
    const denied = scope.services.filter((s) => !client.allowedScopes.includes(s));
    if (denied.length) return fail(400, 'invalid_scope', `client is not allowed: ${denied.join(', ')}`);

    const { accessToken, expiresIn } = this.tokens.issue({
      clientId: client.clientId,
      tenantId: client.tenantId,
      services: scope.services,
      context: scope.context,
    });
    return res.json({ access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', scope: [...scope.services, scope.context].join(' ') });
  }
}

function parseBasic(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const credentials = { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)) };
    // Credentials the database could not even look up are simply not credentials of any client.
    return findUnstorableText(credentials) ? undefined : credentials;
  } catch {
    return undefined; // malformed percent-encoding (RFC 6749 §2.3.1 form-encodes both parts)
  }
}

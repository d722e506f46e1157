import { Body, Controller, Get, HttpCode, Inject, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { OAuthCallbackService } from './oauth-callback.service';

/**
 * The one redirect URI Clearway registers with banks whose SCA is an OAuth/OIDC authorisation
 * (UK Open Banking, Berlin Group OAuth). A browser arrives here: no token, `state` proves which
 * payment or consent it is for. The answer may come as query parameters (code flow), as a form
 * post (`response_mode=form_post`) or in the URL fragment (hybrid flow), which only the browser
 * sees: a small page posts it back.
 */
@Controller('callbacks')
export class OAuthCallbackController {
  constructor(@Inject(OAuthCallbackService) private readonly callbacks: OAuthCallbackService) {}

  @Get('oauth')
  async returned(@Query() query: Record<string, unknown>, @Res() res: Response) {
    if (query.state === undefined && query.code === undefined && query.error === undefined) return fragmentRelay(res);
    backToClient(res, await this.callbacks.handle(query));
  }

  @Post('oauth')
  @HttpCode(200)
  async posted(@Body() body: Record<string, unknown> | undefined, @Res() res: Response) {
    backToClient(res, await this.callbacks.handle(body ?? {}));
  }
}

function backToClient(res: Response, next: string | undefined): void {
  if (next) return res.redirect(303, next);
  res.status(200).type('html').send('<!doctype html><title>Clearway</title><p>Thank you. The bank has your answer; you can close this window.</p>');
}

/** The hybrid flow answers in the fragment: the browser posts it here as a form. */
function fragmentRelay(res: Response): void {
  res
    .status(200)
    .type('html')
    .setHeader('Cache-Control', 'no-store')
    .setHeader('Referrer-Policy', 'no-referrer')
    .send(
      `<!doctype html><title>Clearway</title><form id="f" method="post" action="oauth"></form><noscript>JavaScript is needed to finish the authorisation.</noscript>
<script>
var p = new URLSearchParams(location.hash.slice(1)), f = document.getElementById('f');
p.forEach(function (v, k) { var i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); });
history.replaceState(null, '', location.pathname);
f.submit();
</script>`,
    );
}

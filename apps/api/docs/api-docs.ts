import fs from 'node:fs';
import path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type Request, type Response } from 'express';
import { routedMethods } from '../common/http-hardening';
import { markRoute } from '../observability';
import type { RouteLister } from './clearway-paths';
import { buildOpenApiDocument } from './openapi-document';

/** Swagger UI's files, from the swagger-ui-dist package: no CDN. */
const SWAGGER_UI_DIR: string = (require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();

const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '../openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

interface RouteLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
}

/** The app's routes, read from express's router (they exist once Nest has initialised). */
export function routeLister(app: NestExpressApplication): RouteLister {
  const routed = routedMethods(app);
  const lister = ((p: string) => routed(p)) as RouteLister;
  lister.all = () => {
    const router = (app.getHttpAdapter().getInstance() as { router?: { stack?: RouteLayer[] } }).router;
    const out: { path: string; methods: string[] }[] = [];
    for (const layer of router?.stack ?? []) {
      if (!layer.route || typeof layer.route.path !== 'string') continue;
      const methods = Object.entries(layer.route.methods)
        .filter(([m, on]) => on && m !== '_all')
        .map(([m]) => m.toUpperCase());
      out.push({ path: layer.route.path, methods });
    }
    return out;
  };
  return lister;
}

/**
 * `GET /openapi.json` (built once, on first request, when every route exists) and `GET /docs`
 * (Swagger UI from swagger-ui-dist). See openapi-document.ts for where the document comes from.
 */
export function installApiDocs(app: NestExpressApplication, opts: { specsDir?: string } = {}): void {
  let document: string | undefined;
  const version = packageVersion();
  app.use('/openapi.json', (req: Request, res: Response, next: () => void) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    markRoute(req, '/openapi.json');
    document ??= JSON.stringify(buildOpenApiDocument({ routes: routeLister(app), specsDir: opts.specsDir, version }));
    res.status(200).type('application/json').send(document);
  });
  const ui = express.static(SWAGGER_UI_DIR, { index: false, maxAge: '1h' });
  app.use('/docs', (req: Request, res: Response, next: () => void) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    markRoute(req, '/docs');
    if (req.originalUrl === '/docs') return res.redirect(301, '/docs/');
    if (req.path === '/' || req.path === '/index.html') return res.status(200).type('html').send(indexHtml());
    if (req.path === '/swagger-initializer.js') return res.status(200).type('application/javascript').send(INITIALIZER);
    return ui(req, res, next);
  });
}

let index: string | undefined;
function indexHtml(): string {
  index ??= fs.readFileSync(path.join(SWAGGER_UI_DIR, 'index.html'), 'utf8').replace('<title>Swagger UI</title>', '<title>Clearway API</title>');
  return index;
}

function packageVersion(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version;
    dir = path.dirname(dir);
  }
  return undefined;
}

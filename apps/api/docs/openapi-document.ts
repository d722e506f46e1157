import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { clearwayPaths, CLEARWAY_DEVIATIONS, type RouteLister } from './clearway-paths';

/**
 * The OpenAPI 3.0 document `GET /openapi.json` serves and `GET /docs` renders.
 *
 * Decision (issue 11 §3): the Open Payments Europe NextGenPSD2 1.3.3 contract is not Clearway's to
 * redistribute, so it is never copied into the repository or the image. When the contract is
 * present where tests read it (`SPECS_DIR`, else `../shared/specs` next to the checkout), the
 * document is built from it at startup: every OPE operation Clearway routes, verbatim (schemas,
 * parameters, responses, examples), under `/psd2`, with Clearway's deviations marked
 * `x-clearway-deviation`; OPE operations Clearway does not offer are listed in
 * `x-clearway-not-implemented`. Without it (a deployed image), the NextGenPSD2 endpoints are
 * still listed, from the routes, with a pointer to the contract, and `info.description` says so
 * (`x-clearway-nextgenpsd2-source: "unavailable"`). Clearway's own endpoints (token, Open Payments
 * transfers and mandates, webhooks, batches, health, metrics, SCA return trips) are always
 * described, each marked `x-clearway-extension: true`.
 */
export const OPE_SPEC_RELATIVE = 'open-payments-europe/apiref/openpayments-NextGenPSD2-1.3.3.yaml';

type Json = Record<string, any>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface OpenApiDocumentOptions {
  /** Where the routes are (method list for a concrete path), from the running app. */
  routes: RouteLister;
  /** The directory holding the specs (SPECS_DIR); undefined: `../shared/specs` next to the checkout if present. */
  specsDir?: string;
  version?: string;
}

/** The specs directory this process can read, if any. */
export function findSpecsDir(env: NodeJS.ProcessEnv = process.env, from: string = __dirname): string | undefined {
  if (env.SPECS_DIR) return fs.existsSync(path.join(env.SPECS_DIR, OPE_SPEC_RELATIVE)) ? env.SPECS_DIR : undefined;
  // Walk up to the checkout (the directory with package.json), then ../shared/specs.
  let dir = from;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      const candidate = path.resolve(dir, '../shared/specs');
      return fs.existsSync(path.join(candidate, OPE_SPEC_RELATIVE)) ? candidate : undefined;
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

const opeCache = new Map<string, Json>();

function loadOpe(file: string): Json {
  let doc = opeCache.get(file);
  if (!doc) {
    doc = parseYaml(fs.readFileSync(file, 'utf8')) as Json;
    opeCache.set(file, doc);
  }
  // Every build gets its own copy: annotations must not leak between documents.
  return structuredClone(doc);
}

/** A concrete path for a template, to ask the router whether it is served. */
function sampleOf(template: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'payment-service' ? 'payments' : name === 'payment-product' ? 'sepa-credit-transfers' : 'x'));
}

export function buildOpenApiDocument(opts: OpenApiDocumentOptions): Json {
  const specsDir = opts.specsDir ?? findSpecsDir();
  const opeFile = specsDir ? path.join(specsDir, OPE_SPEC_RELATIVE) : undefined;
  const ope = opeFile && fs.existsSync(opeFile) ? loadOpe(opeFile) : undefined;

  const paths: Json = {};
  const notImplemented: string[] = [];
  let components: Json = { schemas: {}, securitySchemes: {} };
  if (ope) {
    components = ope.components ?? {};
    for (const [template, item] of Object.entries<Json>(ope.paths ?? {})) {
      const full = `/psd2${template}`;
      const routed = new Set(opts.routes(sampleOf(full)).map((m) => m.toLowerCase()));
      const kept: Json = {};
      for (const [key, value] of Object.entries(item)) {
        if (!(HTTP_METHODS as readonly string[]).includes(key)) {
          kept[key] = value;
          continue;
        }
        if (!routed.has(key)) {
          notImplemented.push(`${key.toUpperCase()} ${full}`);
          continue;
        }
        kept[key] = annotateOpeOperation(key, full, value as Json);
      }
      if (HTTP_METHODS.some((m) => m in kept)) paths[full] = kept;
    }
  } else {
    Object.assign(paths, nextGenPathsWithoutSpec(opts.routes));
  }

  const own = clearwayPaths(opts.routes);
  for (const [p, item] of Object.entries(own.paths)) paths[p] = item;
  components.schemas = { ...(components.schemas ?? {}), ...own.schemas };
  components.securitySchemes = { ...(components.securitySchemes ?? {}), ...own.securitySchemes };

  return {
    openapi: '3.0.1',
    info: {
      title: 'Clearway API',
      version: opts.version ?? '0.1.0',
      description: [
        "Clearway's HTTP API: the NextGenPSD2 endpoints of the Open Payments Europe contract (under `/psd2`), and Clearway's own extensions,",
        'each marked `x-clearway-extension: true` (token endpoint, Interledger Open Payments transfers and mandates, webhooks, batches, health, metrics).',
        "Deviations from the contract are marked `x-clearway-deviation` where they apply and listed in `x-clearway-deviations`.",
        '',
        ope
          ? `NextGenPSD2 operations: taken verbatim from the Open Payments Europe NextGenPSD2 1.3.3 contract (${path.basename(opeFile!)}), read at startup.`
          : 'NextGenPSD2 operations: the Open Payments Europe NextGenPSD2 1.3.3 contract is not part of this deployment (it is not redistributed with Clearway), so those operations are listed without their schemas; see the contract itself for request and response bodies.',
      ].join('\n'),
    },
    servers: [{ url: '/', description: 'This Clearway deployment' }],
    'x-clearway-nextgenpsd2-source': ope ? 'open-payments-europe-1.3.3' : 'unavailable',
    'x-clearway-deviations': CLEARWAY_DEVIATIONS,
    ...(notImplemented.length ? { 'x-clearway-not-implemented': notImplemented } : {}),
    paths,
    components,
    security: ope?.security ?? [{ bearerAuth: [] }],
    tags: [...(ope?.tags ?? []), ...own.tags],
  };
}

/** Clearway's deviations, where they touch one OPE operation. */
function annotateOpeOperation(method: string, fullPath: string, op: Json): Json {
  const notes: string[] = [];
  if (fullPath.startsWith('/psd2/paymentinitiation/') || fullPath.startsWith('/psd2/consent/')) {
    if (method === 'post' && (fullPath.endsWith('{payment-product}') || fullPath.endsWith('/consents'))) {
      notes.push(
        'Waits up to API_BANK_ANSWER_WAIT_MS (25 s) for the bank; then 503 with Retry-After: repeat the request with the same X-Request-ID, which finds the same resource.',
      );
    }
  }
  if (fullPath.includes('{payment-service}')) notes.push('payment-service: only `payments` (single payments); bulk and periodic payments answer 404.');
  if (fullPath.endsWith('/status') && fullPath.startsWith('/psd2/paymentinitiation/')) {
    notes.push('May carry `clearway.initiationOutcome: "unknown"` (with a WARNING tppMessage) while the bank\'s answer to the initiation is unknown; never guessed.');
  }
  if (fullPath.startsWith('/psd2/aspspinformation/')) notes.push('Error bodies are `{ "tppMessages": [...] }` objects (as in the contract\'s own examples), not bare arrays.');
  for (const param of (op.parameters ?? []) as Json[]) {
    if (param?.name === 'PSU-IP-Address') param['x-clearway-deviation'] = 'IPv6 addresses are accepted as well as IPv4.';
  }
  op['x-clearway-rate-limited'] = true;
  if (notes.length) op['x-clearway-deviation'] = notes.join(' ');
  return op;
}

/** Without the contract: one minimal operation per NextGenPSD2 route, pointing to the contract. */
function nextGenPathsWithoutSpec(routes: RouteLister): Json {
  const out: Json = {};
  for (const route of routes.all()) {
    if (!route.path.startsWith('/psd2/')) continue;
    const template = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const item = (out[template] ??= {
      parameters: [...template.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
    });
    for (const method of route.methods) {
      item[method.toLowerCase()] = {
        summary: `${method} ${template}`,
        description: 'NextGenPSD2 operation of the Open Payments Europe 1.3.3 contract; its request and response schemas are in the contract, which this deployment does not ship.',
        'x-clearway-spec-unavailable': true,
        responses: { default: { description: 'As in the Open Payments Europe NextGenPSD2 1.3.3 contract' } },
      };
    }
  }
  return out;
}

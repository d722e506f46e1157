/**
 * Small OpenAPI 3.0 contract validator for tests: does a request body or a response we produce
 * match what an official spec (Berlin Group, Open Payments Europe, ...) says?
 *
 * The spec document is registered once with Ajv under a synthetic id and every schema we compile
 * points into it, so `$ref`s (components/schemas, nested refs, recursion) resolve the Ajv way.
 * Non-schema refs (components/responses, components/requestBodies, components/parameters,
 * components/headers) are resolved here. Compiled validators are cached per spec.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export const repoRoot = path.resolve(__dirname, '../..');
export const specsDir = process.env.SPECS_DIR ?? path.resolve(repoRoot, '../shared/specs');

export const BERLIN_GROUP_SPEC = path.join(specsDir, 'berlin-group/psd2-api-1.3.12.json');
export const OPEN_PAYMENTS_EUROPE_SPEC = path.join(
  specsDir,
  'open-payments-europe/apiref/openpayments-NextGenPSD2-1.3.3.yaml',
);

type Json = Record<string, unknown>;
type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';

export interface LoadOpenApiOptions {
  /**
   * Treat `oneOf` as `anyOf`. Some specs use `oneOf` for "one of these shapes" although the shapes
   * overlap (no `additionalProperties: false`), which no instance can satisfy under JSON Schema;
   * BG's `OK_200_UpdatePsuData` is one. Prefer the strict default and opt in per call site.
   */
  oneOfAsAnyOf?: boolean;
}

export interface OpenApiSpec {
  readonly file: string;
  readonly document: Json;
  readonly options: Readonly<LoadOpenApiOptions>;
  /** Path templates as written in the spec, e.g. `/v1/{payment-service}/{payment-product}`. */
  readonly pathTemplates: readonly string[];
}

interface SpecInternals {
  ajv: Ajv;
  schemaId: string;
  validators: Map<string, ValidateFunction>;
}

export interface ResponseToValidate {
  method: string;
  /** A spec path template (`/v1/{payment-service}/{payment-product}`) or a concrete path (`/v1/payments/sepa-credit-transfers`). */
  path: string;
  status: number;
  body?: unknown;
  /** Defaults to `application/json`; parameters such as `; charset=utf-8` are ignored. */
  contentType?: string;
  /** When given, required response headers are checked and present ones validated against their schema. */
  headers?: Headers | Record<string, string | undefined>;
}

export interface RequestBodyToValidate {
  method: string;
  path: string;
  body: unknown;
  contentType?: string;
}

const internals = new WeakMap<OpenApiSpec, SpecInternals>();
const loaded = new Map<string, OpenApiSpec>();
let specCounter = 0;

/** Loads a JSON or YAML OpenAPI 3.0 document (cached per file and options). */
export function loadOpenApi(file: string, options: LoadOpenApiOptions = {}): OpenApiSpec {
  const absolute = path.resolve(file);
  const cacheKey = `${absolute}|${options.oneOfAsAnyOf ? 'anyOf' : 'oneOf'}`;
  const cached = loaded.get(cacheKey);
  if (cached) return cached;

  const text = fs.readFileSync(absolute, 'utf8');
  const raw = /\.ya?ml$/i.test(absolute) ? parseYaml(text) : JSON.parse(text);
  const spec = openApiFromDocument(raw, absolute, options);
  loaded.set(cacheKey, spec);
  return spec;
}

/** An OpenAPI 3.x document already in memory (e.g. the one Clearway serves at /openapi.json); not cached. */
export function openApiFromDocument(raw: unknown, absolute: string, options: LoadOpenApiOptions = {}): OpenApiSpec {
  if (!isObject(raw) || typeof raw.openapi !== 'string' || !raw.openapi.startsWith('3.')) {
    throw new Error(`${absolute} is not an OpenAPI 3.x document`);
  }

  const formats = new Set<string>();
  const document = normaliseSchemas(raw, options, formats) as Json;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
  addFormats(ajv);
  for (const format of formats) {
    // Vendor formats (e.g. "binary", "byte" in some specs) are annotations for us, not constraints.
    if (!ajv.formats[format]) ajv.addFormat(format, true);
  }
  const schemaId = `openapi-spec-${++specCounter}.json`;
  ajv.addSchema(document, schemaId);

  const spec: OpenApiSpec = {
    file: absolute,
    document,
    options: { ...options },
    pathTemplates: Object.keys((document.paths as Json | undefined) ?? {}),
  };
  internals.set(spec, { ajv, schemaId, validators: new Map() });
  return spec;
}

/** Returns readable errors (empty when the response matches the spec). */
export function validateResponse(spec: OpenApiSpec, response: ResponseToValidate): string[] {
  const located = locateOperation(spec, response.method, response.path);
  if (typeof located === 'string') return [located];
  const { template, method, operation, pointer } = located;
  const where = `${method.toUpperCase()} ${template} → ${response.status}`;

  const responses = (operation.responses ?? {}) as Json;
  const statusKey = [String(response.status), `${String(response.status)[0]}XX`, 'default'].find(
    (key) => key in responses,
  );
  if (!statusKey) {
    return [`${where}: status not defined in the spec (defined: ${Object.keys(responses).join(', ')})`];
  }
  const { value: responseObject, pointer: responsePointer } = resolveRef(
    spec,
    responses[statusKey] as Json,
    `${pointer}/responses/${escapePointer(statusKey)}`,
  );

  const errors: string[] = [];
  if (response.headers) errors.push(...checkHeaders(spec, where, responseObject, response.headers));

  const content = responseObject.content as Json | undefined;
  const hasBody = response.body !== undefined && response.body !== '';
  if (!content) {
    // The spec defines no body for this status (e.g. BG 429/503): nothing to validate it against.
    return errors;
  }
  if (!hasBody) return [...errors, `${where}: the spec defines a body but none was given`];
  errors.push(
    ...validateContent(spec, where, content, `${responsePointer}/content`, response.contentType, response.body),
  );
  return errors;
}

/** Returns readable errors (empty when the request body matches the spec). */
export function validateRequestBody(spec: OpenApiSpec, request: RequestBodyToValidate): string[] {
  const located = locateOperation(spec, request.method, request.path);
  if (typeof located === 'string') return [located];
  const { template, method, operation, pointer } = located;
  const where = `${method.toUpperCase()} ${template} request body`;
  if (!operation.requestBody) return [`${where}: the operation takes no request body`];
  const { value: requestBody, pointer: bodyPointer } = resolveRef(
    spec,
    operation.requestBody as Json,
    `${pointer}/requestBody`,
  );
  const content = requestBody.content as Json | undefined;
  if (!content) return [`${where}: the spec defines no content`];
  return validateContent(spec, where, content, `${bodyPointer}/content`, request.contentType, request.body);
}

/** Throws with every error when the response does not match. */
export function expectValidResponse(spec: OpenApiSpec, response: ResponseToValidate): void {
  const errors = validateResponse(spec, response);
  if (errors.length) throw new Error(`Response does not match ${path.basename(spec.file)}:\n  ${errors.join('\n  ')}`);
}

/** Throws with every error when the request body does not match. */
export function expectValidRequestBody(spec: OpenApiSpec, request: RequestBodyToValidate): void {
  const errors = validateRequestBody(spec, request);
  if (errors.length) throw new Error(`Request body does not match ${path.basename(spec.file)}:\n  ${errors.join('\n  ')}`);
}

/**
 * Finds the spec template for a path: an exact template wins, otherwise the concrete path is
 * matched segment by segment, preferring literal segments over parameters.
 */
export function matchPathTemplate(spec: OpenApiSpec, requestPath: string): string | undefined {
  const clean = requestPath.split('?')[0].replace(/\/+$/, '') || '/';
  if (spec.pathTemplates.includes(clean)) return clean;
  const segments = clean.split('/');
  let best: { template: string; params: number } | undefined;
  for (const template of spec.pathTemplates) {
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    let params = 0;
    const matches = parts.every((part, i) => {
      if (/^\{[^}]+\}$/.test(part)) {
        params += 1;
        return segments[i].length > 0;
      }
      return part === segments[i];
    });
    if (matches && (!best || params < best.params)) best = { template, params };
  }
  return best?.template;
}

/** Whether the document defines this method on a path matching `requestPath`. */
export function documentsOperation(spec: OpenApiSpec, method: string, requestPath: string): boolean {
  return typeof locateOperation(spec, method, requestPath) !== 'string';
}

function locateOperation(
  spec: OpenApiSpec,
  rawMethod: string,
  requestPath: string,
): string | { template: string; method: HttpMethod; operation: Json; pointer: string } {
  const method = rawMethod.toLowerCase() as HttpMethod;
  const template = matchPathTemplate(spec, requestPath);
  if (!template) return `${rawMethod.toUpperCase()} ${requestPath}: no matching path in the spec`;
  const pathItem = (spec.document.paths as Json)[template] as Json;
  const operation = pathItem[method] as Json | undefined;
  if (!operation) return `${rawMethod.toUpperCase()} ${template}: method not defined in the spec`;
  return { template, method, operation, pointer: `/paths/${escapePointer(template)}/${method}` };
}

function validateContent(
  spec: OpenApiSpec,
  where: string,
  content: Json,
  contentPointer: string,
  contentType: string | undefined,
  body: unknown,
): string[] {
  const mediaType = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  const mediaKey = Object.keys(content).find((key) => key.toLowerCase() === mediaType);
  if (!mediaKey) {
    return [`${where}: content type ${mediaType} not defined (defined: ${Object.keys(content).join(', ')})`];
  }
  const media = content[mediaKey] as Json;
  if (!media.schema) return [];
  const validate = compile(spec, `${contentPointer}/${escapePointer(mediaKey)}/schema`);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((error) => `${where}: ${formatAjvError(error)}`);
}

function compile(spec: OpenApiSpec, pointer: string): ValidateFunction {
  const state = internals.get(spec);
  if (!state) throw new Error('Unknown spec: load it with loadOpenApi()');
  let validate = state.validators.get(pointer);
  if (!validate) {
    // Ajv expects the fragment URI-encoded (templates contain "{" and "}").
    const fragment = pointer
      .split('/')
      .map((part) => encodeURIComponent(part))
      .join('/');
    validate = state.ajv.compile({ $ref: `${state.schemaId}#${fragment}` });
    state.validators.set(pointer, validate);
  }
  return validate;
}

function checkHeaders(
  spec: OpenApiSpec,
  where: string,
  responseObject: Json,
  actual: Headers | Record<string, string | undefined>,
): string[] {
  const read = (name: string): string | undefined => {
    if (typeof (actual as Headers).get === 'function') return (actual as Headers).get(name) ?? undefined;
    const entry = Object.entries(actual).find(([key]) => key.toLowerCase() === name.toLowerCase());
    return entry?.[1];
  };
  const errors: string[] = [];
  for (const [name, ref] of Object.entries((responseObject.headers as Json | undefined) ?? {})) {
    const { value: header } = resolveRef(spec, ref as Json, '');
    const value = read(name);
    if (value === undefined) {
      if (header.required === true) errors.push(`${where}: missing required header ${name}`);
      continue;
    }
    const schema = header.schema as Json | undefined;
    if (Array.isArray(schema?.enum) && !schema.enum.includes(value)) {
      errors.push(`${where}: header ${name}=${value} is not one of ${schema.enum.join(', ')}`);
    }
  }
  return errors;
}

function resolveRef(spec: OpenApiSpec, value: Json, pointer: string): { value: Json; pointer: string } {
  let current = value;
  let currentPointer = pointer;
  for (let hops = 0; typeof current.$ref === 'string'; hops += 1) {
    const ref = current.$ref;
    if (!ref.startsWith('#/') || hops > 20) throw new Error(`Unsupported or circular $ref ${ref}`);
    currentPointer = ref.slice(1);
    current = currentPointer
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), spec.document) as Json;
    if (!isObject(current)) throw new Error(`Unresolvable $ref ${ref}`);
  }
  return { value: current, pointer: currentPointer };
}

/** Rewrites OpenAPI 3.0 schema dialect into what Ajv (draft-07) understands. */
function normaliseSchemas(node: unknown, options: LoadOpenApiOptions, formats: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((item) => normaliseSchemas(item, options, formats));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) out[key] = normaliseSchemas(value, options, formats);

  if (typeof out.format === 'string' && (typeof out.type === 'string' || out.type === undefined)) {
    formats.add(out.format);
  }
  if (options.oneOfAsAnyOf && Array.isArray(out.oneOf)) {
    out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  for (const bound of ['Minimum', 'Maximum'] as const) {
    const exclusive = out[`exclusive${bound}`];
    if (typeof exclusive === 'boolean') {
      if (exclusive && typeof out[bound.toLowerCase()] === 'number') {
        out[`exclusive${bound}`] = out[bound.toLowerCase()];
        delete out[bound.toLowerCase()];
      } else {
        delete out[`exclusive${bound}`];
      }
    }
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
    } else if (out.type === undefined) {
      return { anyOf: [out, { type: 'null' }] };
    }
  } else if (out.nullable === false) {
    delete out.nullable;
  }
  return out;
}

function formatAjvError(error: ErrorObject): string {
  const at = error.instancePath || '(root)';
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'enum') return `${at} ${error.message}: ${(params.allowedValues as unknown[]).join(', ')}`;
  if (error.keyword === 'additionalProperties') return `${at} must not have property '${String(params.additionalProperty)}'`;
  return `${at} ${error.message ?? error.keyword}`;
}

function escapePointer(part: string): string {
  return part.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

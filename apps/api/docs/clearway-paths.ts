/**
 * Clearway's own endpoints in the served OpenAPI document, each marked `x-clearway-extension`.
 * Bodies are described as far as clients rely on them; objects stay open (`additionalProperties`
 * allowed) so that adding a field is not a breaking change. The e2e suite validates real
 * responses against these (test/support/stack.ts), and a test checks that every route of the app
 * is documented and every documented route exists (test/e2e/openapi-served.test.ts).
 */
type Json = Record<string, any>;

export interface RouteLister {
  /** Methods routed for a concrete path. */
  (path: string): string[];
  /** Every route: express path (`/a/:id`) and methods. */
  all(): { path: string; methods: string[] }[];
}

/** Clearway's deviations from the OPE NextGenPSD2 1.3.3 contract (also marked where they apply). */
export const CLEARWAY_DEVIATIONS: string[] = [
  'X-Request-ID is required on every NextGenPSD2 and Open Payments request and must be a UUID; it is echoed back on every response, errors included.',
  'PSU-IP-Address accepts IPv6 as well as IPv4 (the contract says ipv4).',
  'Only single payments (`payment-service` = payments); bulk and periodic payment services answer 404.',
  'POST payments/consents wait up to 25 s (API_BANK_ANSWER_WAIT_MS) for the bank, then answer 503 with Retry-After: repeat the request with the same X-Request-ID to get the same resource.',
  'Every endpoint is rate-limited per client; over the limit answers 429 with Retry-After.',
  'Payment status responses may carry `clearway.initiationOutcome: "unknown"` with a WARNING tppMessage while the bank\'s answer to the initiation is unknown.',
  'ASPSP-information errors are `{ "tppMessages": [...] }` objects, as the contract\'s examples show, not bare arrays as its schema says.',
  'Unsupported methods answer 405 with Allow, unsupported media types 415, oversized headers 431, each with tppMessages.',
];

const ERROR_REF = { $ref: '#/components/schemas/ClearwayTppMessages' };
const OBJECT_REF = { $ref: '#/components/schemas/ClearwayObject' };

function json(schema: Json, description: string): Json {
  return { description, content: { 'application/json': { schema } } };
}

/** Client-API error answers: tppMessages naming the field. */
const ERRORS: Json = {
  '4XX': json(ERROR_REF, 'Refused: tppMessages name the field or the reason'),
  '5XX': json(ERROR_REF, 'Not answered now (503 with Retry-After: repeat the request)'),
};

const REQUEST_ID = { name: 'X-Request-ID', in: 'header', required: true, schema: { type: 'string', format: 'uuid' } };

interface Op {
  summary: string;
  description?: string;
  tag: string;
  ok: Record<string, Json>;
  body?: Json;
  requestId?: boolean;
  errors?: boolean;
  security?: boolean;
  query?: string[];
  extra?: Json;
}

function operation(op: Op): Json {
  return {
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    'x-clearway-extension': true,
    parameters: [
      ...(op.requestId ? [REQUEST_ID] : []),
      ...(op.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ],
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
    responses: { ...op.ok, ...(op.errors === false ? {} : ERRORS) },
    security: op.security === false ? [] : [{ bearerAuth: [] }],
    ...op.extra,
  };
}

function pathParams(template: string): Json[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
}

const OK = (description: string, schema: Json = OBJECT_REF) => ({ '2XX': json(schema, description) });
const NO_CONTENT = (description: string) => ({ '2XX': { description } });
const REDIRECT = (description: string) => ({ '3XX': { description, headers: { Location: { schema: { type: 'string' } } } }, '2XX': { description: 'An HTML page for the PSU' } });

export function clearwayPaths(routes: RouteLister): { paths: Json; schemas: Json; securitySchemes: Json; tags: Json[] } {
  const defs: Record<string, Record<string, Op>> = {
    '/connect/token': {
      post: {
        tag: 'Clearway: access tokens',
        summary: 'OAuth 2.0 client credentials: an access token for the services in `scope`',
        description: 'Form-encoded `grant_type=client_credentials`, `client_id`, `client_secret`, `scope` (e.g. `paymentinitiation private`). Errors are OAuth 2.0 `{ error, error_description }`.',
        ok: { '200': json({ type: 'object', required: ['access_token', 'token_type', 'expires_in'], properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' } } }, 'An access token') },
        security: false,
        errors: false,
        extra: {
          requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { grant_type: { type: 'string' }, client_id: { type: 'string' }, client_secret: { type: 'string' }, scope: { type: 'string' } } } } } },
          responses: {
            '200': json({ type: 'object', required: ['access_token', 'token_type', 'expires_in'], properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' } } }, 'An access token'),
            '4XX': json({ type: 'object', properties: { error: { type: 'string' }, error_description: { type: 'string' } } }, 'OAuth 2.0 error'),
          },
        },
      },
    },
    '/openpayments/v1/transfers': {
      post: { tag: 'Clearway: Open Payments', summary: 'Start an Interledger Open Payments transfer (grant, quote, outgoing payment)', ok: OK('The transfer, with the wallet interaction link when consent is needed'), body: OBJECT_REF, requestId: true },
      get: { tag: 'Clearway: Open Payments', summary: 'List transfers of the tenant', ok: OK('A page of transfers'), requestId: true, query: ['limit', 'after', 'status'] },
    },
    '/openpayments/v1/transfers/{transferId}': {
      get: { tag: 'Clearway: Open Payments', summary: 'A transfer and its status', ok: OK('The transfer'), requestId: true },
      delete: { tag: 'Clearway: Open Payments', summary: 'Cancel a transfer that has not been sent', ok: OK('The cancelled transfer'), requestId: true },
    },
    '/openpayments/v1/mandates': {
      post: { tag: 'Clearway: Open Payments', summary: 'Create a recurring mandate (an interval grant at the payer\'s wallet)', ok: OK('The mandate'), body: OBJECT_REF, requestId: true },
    },
    '/openpayments/v1/mandates/{mandateId}': {
      get: { tag: 'Clearway: Open Payments', summary: 'A mandate, its periods and payments', ok: OK('The mandate'), requestId: true },
      delete: { tag: 'Clearway: Open Payments', summary: 'Revoke a mandate', ok: OK('The revoked mandate'), requestId: true },
    },
    '/openpayments/v1/mandates/{mandateId}/pause': {
      post: { tag: 'Clearway: Open Payments', summary: 'Pause a mandate', ok: OK('The mandate'), requestId: true },
    },
    '/openpayments/v1/mandates/{mandateId}/resume': {
      post: { tag: 'Clearway: Open Payments', summary: 'Resume a paused mandate', ok: OK('The mandate'), requestId: true },
    },
    '/openpayments/callbacks/transfers/{transferId}/finish': {
      get: { tag: 'Clearway: browser return trips', summary: "The payer's wallet sends the browser back here after the interaction (GNAP finish)", ok: REDIRECT('Back to the client'), security: false, errors: false },
    },
    '/openpayments/callbacks/mandates/{mandateId}/finish': {
      get: { tag: 'Clearway: browser return trips', summary: "The payer's wallet sends the browser back here after the mandate's interaction", ok: REDIRECT('Back to the client'), security: false, errors: false },
    },
    '/callbacks/payments/{paymentId}/sca': {
      get: { tag: 'Clearway: browser return trips', summary: "The bank sends the PSU's browser back here after SCA (signed link)", ok: REDIRECT('Back to TPP-Redirect-URI / TPP-Nok-Redirect-URI'), security: false, errors: false },
    },
    '/callbacks/consents/{consentId}/sca': {
      get: { tag: 'Clearway: browser return trips', summary: "The bank sends the PSU's browser back here after the consent's SCA (signed link)", ok: REDIRECT('Back to TPP-Redirect-URI / TPP-Nok-Redirect-URI'), security: false, errors: false },
    },
    '/callbacks/bulk-payments/{paymentId}/sca': {
      get: { tag: 'Clearway: browser return trips', summary: "The bank sends the PSU's browser back here after a bulk payment's SCA (signed link)", ok: REDIRECT('Back to TPP-Redirect-URI / TPP-Nok-Redirect-URI'), security: false, errors: false },
    },
    '/psd2/paymentinitiation/v1/periodic-payments/{payment-product}/{paymentId}/executions': {
      get: { tag: 'Clearway: standing orders', summary: "A standing order's executions as Clearway observed them at the bank (booked debits seen through the order's AIS consent)", ok: OK('The executions'), requestId: true },
    },
    '/callbacks/oauth': {
      get: { tag: 'Clearway: browser return trips', summary: "An OAuth/OIDC bank (OAuth SCA approach, UK OBIE) sends the PSU's browser back here with code and signed state", ok: REDIRECT('Back to TPP-Redirect-URI / TPP-Nok-Redirect-URI'), security: false, errors: false },
      post: { tag: 'Clearway: browser return trips', summary: 'The same answer as a form post (response_mode=form_post, or relayed from the URL fragment)', ok: REDIRECT('Back to TPP-Redirect-URI / TPP-Nok-Redirect-URI'), security: false, errors: false },
    },
    '/webhooks/v1/event-types': {
      get: { tag: 'Clearway: webhooks', summary: 'The event types a webhook endpoint can subscribe to', ok: OK('The catalogue') },
    },
    '/webhooks/v1/endpoints': {
      post: { tag: 'Clearway: webhooks', summary: 'Register a webhook endpoint (Standard Webhooks signatures; the secret is shown once)', ok: OK('The endpoint and its signing secret'), body: OBJECT_REF },
      get: { tag: 'Clearway: webhooks', summary: "The tenant's webhook endpoints", ok: OK('The endpoints') },
    },
    '/webhooks/v1/endpoints/{endpointId}': {
      get: { tag: 'Clearway: webhooks', summary: 'A webhook endpoint', ok: OK('The endpoint') },
      patch: { tag: 'Clearway: webhooks', summary: 'Change URL, event types, or enable/disable', ok: OK('The endpoint'), body: OBJECT_REF },
      delete: { tag: 'Clearway: webhooks', summary: 'Delete a webhook endpoint', ok: NO_CONTENT('Deleted') },
    },
    '/webhooks/v1/endpoints/{endpointId}/rotate-secret': {
      post: { tag: 'Clearway: webhooks', summary: 'Rotate the signing secret (the old one signs too for a grace period)', ok: OK('The new secret') },
    },
    '/webhooks/v1/endpoints/{endpointId}/deliveries': {
      get: { tag: 'Clearway: webhooks', summary: 'Deliveries to the endpoint, newest first', ok: OK('A page of deliveries'), query: ['status', 'limit', 'after'] },
    },
    '/webhooks/v1/endpoints/{endpointId}/deliveries/{deliveryId}': {
      get: { tag: 'Clearway: webhooks', summary: 'One delivery and its attempts', ok: OK('The delivery') },
    },
    '/webhooks/v1/endpoints/{endpointId}/deliveries/{deliveryId}/retry': {
      post: { tag: 'Clearway: webhooks', summary: 'Deliver again now', ok: OK('The delivery') },
    },
    '/webhooks/v1/endpoints/{endpointId}/replay': {
      post: { tag: 'Clearway: webhooks', summary: 'Replay the events since a point in time', ok: OK('What was queued'), body: OBJECT_REF },
    },
    '/batches/v1/batches': {
      post: {
        tag: 'Clearway: batches',
        summary: 'Submit a pain.001 (.03 or .09) payment file; each PmtInf becomes a bulk or single payments at its bank',
        description:
          'Body: the pain.001 XML (`application/xml`). The same file from the same tenant answers the existing batch (200); a different file under a used MsgId answers 409. ' +
          'The 201 comes once the file is checked, stored and its workflow started, and each bulk\'s bank answered (its SCA link); its `Server-Timing` header gives the stages in ms (read, prepare, store, start, bank, answer).',
        ok: { '2XX': json({ $ref: '#/components/schemas/ClearwayBatch' }, 'The batch (201 created, 200 already submitted)') },
        requestId: true,
        extra: { requestBody: { required: true, content: { 'application/xml': { schema: { type: 'string' } } } } },
      },
      get: { tag: 'Clearway: batches', summary: "The tenant's batches, newest first", ok: OK('A page of batches', { type: 'object', properties: { batches: { type: 'array', items: { $ref: '#/components/schemas/ClearwayBatch' } } } }), query: ['limit', 'after'] },
    },
    '/batches/v1/batches/{batchId}': {
      get: { tag: 'Clearway: batches', summary: 'A batch: status, totals, progress per bulk, SCA links', ok: { '2XX': json({ $ref: '#/components/schemas/ClearwayBatch' }, 'The batch') } },
      delete: {
        tag: 'Clearway: batches',
        summary: 'Cancel what has not executed: children awaiting SCA are cancelled at their banks, children not started yet never start',
        description:
          'Answers 202 with the batch and `cancellation` (`unstarted`, `cancelled`, `awaitingCancellationAuthorisation`: payments whose bank wants the cancellation authorised, through their own `cancellation-authorisations`; `notCancelled`: already executing). ' +
          'Once every child closed the batch is `cancelled` (nothing executed) or `partially_completed` (`statusReason` and `progress` say what executed), with its `batch.completed` event. Repeating it answers 202 again; a final batch answers 409 STATUS_INVALID.',
        ok: { '202': json({ $ref: '#/components/schemas/ClearwayBatch' }, 'Cancellation under way') },
      },
    },
    '/batches/v1/batches/{batchId}/report': {
      get: {
        tag: 'Clearway: batches',
        summary: 'The pain.002 status report of the batch',
        ok: { '2XX': { description: 'pain.002 XML', content: { 'application/xml': { schema: { type: 'string' } } } } },
      },
    },
    '/batches/v1/batches/{batchId}/payments': {
      get: { tag: 'Clearway: batches', summary: 'The single payments of a bulk routed as singles (a bank without bulk payments), with their SCA links', ok: OK('A page of payments'), query: ['pmtInfId', 'limit', 'after'] },
    },
    '/health': { get: { tag: 'Clearway: operations', summary: 'Database and Temporal reachable', ok: { '200': json(OBJECT_REF, 'Up'), '503': json(OBJECT_REF, 'Down') }, security: false, errors: false } },
    '/health/live': { get: { tag: 'Clearway: operations', summary: 'The process answers (liveness)', ok: { '200': json(OBJECT_REF, 'Up') }, security: false, errors: false } },
    '/health/ready': {
      get: { tag: 'Clearway: operations', summary: 'Database and Temporal reachable and no migration pending (readiness)', ok: { '200': json(OBJECT_REF, 'Ready'), '503': json(OBJECT_REF, 'Not ready; the failing part is named') }, security: false, errors: false },
    },
    '/metrics': {
      get: { tag: 'Clearway: operations', summary: 'Prometheus metrics of this API process and of the deployment (docs/observability.md)', ok: { '200': { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } } }, security: false, errors: false },
    },
    '/openapi.json': { get: { tag: 'Clearway: operations', summary: 'This document', ok: { '200': json({ type: 'object' }, 'OpenAPI 3.0') }, security: false, errors: false } },
    '/docs': { get: { tag: 'Clearway: operations', summary: 'Interactive documentation of this document (Swagger UI, served locally)', ok: { '2XX': { description: 'HTML' }, '3XX': { description: 'To /docs/' } }, security: false, errors: false } },
  };

  const paths: Json = {};
  for (const [template, methods] of Object.entries(defs)) {
    const item: Json = {};
    const params = pathParams(template);
    if (params.length) item.parameters = params;
    const served = template.startsWith('/batches/') ? new Set(routes(template.replace(/\{[^}]+\}/g, 'x')).map((m) => m.toLowerCase())) : undefined;
    for (const [method, op] of Object.entries(methods)) {
      const built = operation(op);
      if (served && !served.has(method)) built['x-clearway-availability'] = 'Not served by this build: the batch API is developed alongside; the CLI contract (apps/cli/batch-api.ts) defines it.';
      item[method] = built;
    }
    paths[template] = item;
  }

  const schemas: Json = {
    ClearwayTppMessages: {
      type: 'object',
      required: ['tppMessages'],
      properties: {
        tppMessages: {
          type: 'array',
          items: { type: 'object', required: ['category', 'code'], properties: { category: { type: 'string', enum: ['ERROR', 'WARNING'] }, code: { type: 'string' }, path: { type: 'string' }, text: { type: 'string' } } },
        },
      },
    },
    ClearwayObject: { type: 'object', description: 'A Clearway resource (see the endpoint description); open to new fields.' },
    ClearwayBatch: {
      type: 'object',
      required: ['batchId', 'msgId', 'status', 'numberOfTransactions'],
      properties: {
        batchId: { type: 'string' },
        msgId: { type: 'string' },
        status: { type: 'string', enum: ['received', 'awaiting_authorisation', 'processing', 'completed', 'partially_completed', 'rejected', 'cancelled'] },
        createdAt: { type: 'string' },
        numberOfTransactions: { type: 'integer' },
        controlSum: { type: 'string' },
        statusReason: { type: 'string' },
        cancellationRequestedAt: { type: 'string', description: 'When DELETE asked to cancel the batch' },
        totals: { type: 'array', items: { type: 'object', properties: { currency: { type: 'string' }, amount: { type: 'string' }, numberOfTransactions: { type: 'integer' } } } },
        progress: { $ref: '#/components/schemas/ClearwayBatchProgress' },
        bulks: {
          type: 'array',
          items: {
            type: 'object',
            required: ['pmtInfId', 'route', 'numberOfTransactions'],
            properties: {
              pmtInfId: { type: 'string' },
              route: { type: 'string', enum: ['bulk', 'single'] },
              bicFi: { type: 'string' },
              paymentProduct: { type: 'string' },
              paymentId: { type: 'string' },
              transactionStatus: { type: 'string' },
              numberOfTransactions: { type: 'integer' },
              controlSum: { type: 'string' },
              scaApproach: { type: 'string' },
              psuMessage: { type: 'string' },
              statusReason: { type: 'string' },
              progress: { $ref: '#/components/schemas/ClearwayBatchProgress' },
            },
          },
        },
      },
    },
    ClearwayBatchProgress: {
      type: 'object',
      properties: Object.fromEntries(['total', 'received', 'awaitingSca', 'accepted', 'settled', 'rejected', 'cancelled'].map((k) => [k, { type: 'integer' }])),
    },
  };
  const tags = ['access tokens', 'Open Payments', 'browser return trips', 'standing orders', 'webhooks', 'batches', 'operations'].map((t) => ({
    name: `Clearway: ${t}`,
    description: "Clearway's own endpoints (x-clearway-extension)",
  }));
  return { paths, schemas, securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An access token from POST /connect/token' } }, tags };
}

import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConsentRepository, type TenantConsentRepository } from '../../libs/persistence/consent.repository';
import { OpMandateRepository, type TenantMandateRepository } from '../../libs/persistence/op-mandate.repository';
import { OpTransferRepository, type TenantTransferRepository } from '../../libs/persistence/op-transfer.repository';
import { PaymentRepository, type TenantPaymentRepository } from '../../libs/persistence/payment.repository';
import { WebhookRepository, type TenantWebhookRepository } from '../../libs/persistence/webhook.repository';
import { PeriodicPaymentRepository, type TenantPeriodicPaymentRepository } from '../../libs/persistence/periodic-payment.repository';
import { BulkPaymentRepository, type TenantBulkPaymentRepository } from '../../libs/persistence/bulk-payment.repository';
import { BatchRepository, type TenantBatchRepository } from '../../libs/persistence/batch.repository';

/**
 * Tenant scoping is enforced by the repository API, and this keeps it so: the API sees tenant
 * repositories only (`Tenant*Repository`, a Pick of the worker's full class without its by-id
 * methods), every method of those takes the tenant first (or a signed callback id, or a new row
 * that carries its tenant), and no file under apps/api reaches past them.
 */
const API_DIR = __dirname;
/** The composition root builds the full repositories and hands the API their tenant views. */
const COMPOSITION_ROOT = path.join(API_DIR, 'app.module.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') && !file.endsWith('.spec.ts') ? [file] : [];
  });
}

const apiFiles = sourceFiles(API_DIR).filter((f) => f !== COMPOSITION_ROOT);
const relative = (f: string) => path.relative(API_DIR, f);

/** Exactly the methods of each tenant view (the compiler keeps these lists complete and exact). */
const TENANT_VIEWS = [
  {
    name: 'TenantPaymentRepository',
    cls: PaymentRepository,
    methods: { insertOrGetExisting: 1, findForTenant: 1, findBySignedCallback: 1, deleteUninitiated: 1, listAuthorisations: 1, findAuthorisation: 1 } satisfies Record<keyof TenantPaymentRepository, 1>,
  },
  {
    name: 'TenantBulkPaymentRepository',
    cls: BulkPaymentRepository,
    methods: {
      create: 1, findForTenant: 1, findBySignedCallback: 1, deleteUninitiated: 1, listAuthorisations: 1, findAuthorisation: 1, listCancellations: 1, findCancellation: 1, listTransactionsForTenant: 1,
    } satisfies Record<keyof TenantBulkPaymentRepository, 1>,
  },
  {
    name: 'TenantConsentRepository',
    cls: ConsentRepository,
    methods: { insertOrGetExisting: 1, findForTenant: 1, findBySignedCallback: 1, deleteUncreated: 1, listAuthorisations: 1, findAuthorisation: 1, takeReadResult: 1 } satisfies Record<keyof TenantConsentRepository, 1>,
  },
  {
    name: 'TenantTransferRepository',
    cls: OpTransferRepository,
    methods: { insertOrGetExisting: 1, findForTenant: 1, findBySignedCallback: 1, listForTenant: 1, deleteUnstarted: 1 } satisfies Record<keyof TenantTransferRepository, 1>,
  },
  {
    name: 'TenantMandateRepository',
    cls: OpMandateRepository,
    methods: { insertOrGetExisting: 1, findForTenant: 1, findBySignedCallback: 1, listPeriodsForTenant: 1 } satisfies Record<keyof TenantMandateRepository, 1>,
  },
  {
    name: 'TenantWebhookRepository',
    cls: WebhookRepository,
    methods: {
      createEndpoint: 1, listEndpoints: 1, findEndpoint: 1, updateEndpoint: 1, deleteEndpoint: 1, rotateSecret: 1, listDeliveries: 1,
      eventTypes: 1, findDelivery: 1, listAttempts: 1, retryDelivery: 1, replay: 1, subscribeNotifications: 1,
    } satisfies Record<keyof TenantWebhookRepository, 1>,
  },
  {
    name: 'TenantPeriodicPaymentRepository',
    cls: PeriodicPaymentRepository,
    methods: { insertOrGetExisting: 1, findTermsForTenant: 1, listExecutions: 1, listCancellations: 1, findCancellation: 1 } satisfies Record<keyof TenantPeriodicPaymentRepository, 1>,
  },
  {
    name: 'TenantBatchRepository',
    cls: BatchRepository,
    methods: {
      insertOrGetExisting: 1, findForTenant: 1, listForTenant: 1, paymentInfosForTenant: 1, progressForTenant: 1, bulkStatesForTenant: 1, singlePaymentsForTenant: 1, reportRowsForTenant: 1, openChildrenForTenant: 1,
    } satisfies Record<keyof TenantBatchRepository, 1>,
  },
];

/** Methods whose first argument is not `tenantId`, and why they are scoped all the same. */
const SCOPED_OTHERWISE: Record<string, string> = {
  createEndpoint: 'the new row carries its tenantId',
  subscribeNotifications: 'the new subscription carries its tenantId; the service picked its endpoint from that tenant’s own endpoints',
  insertOrGetExisting: 'the new row carries its tenantId, and the lookup after the insert is by (tenantId, requestId)',
  create: 'the new bulk carries its tenantId, and the lookup after a conflicting insert is by (tenantId, requestId)',
  findBySignedCallback: 'takes a SignedCallbackId, which only verifyCallbackState makes (a browser redirect carries no token)',
};

function firstParameterName(fn: (...args: never[]) => unknown): string | undefined {
  return /^[^(]*\(\s*([A-Za-z_$][\w$]*)/.exec(fn.toString())?.[1];
}

describe('tenant scoping by construction', () => {
  test.each(TENANT_VIEWS.flatMap((view) => Object.keys(view.methods).map((method) => [view.name, method, view.cls] as const)))(
    '%s.%s takes the tenant first (or is scoped otherwise, for a stated reason)',
    (_view, method, cls) => {
      const fn = (cls.prototype as unknown as Record<string, (...args: never[]) => unknown>)[method]!;
      expect(typeof fn).toBe('function');
      if (!(method in SCOPED_OTHERWISE)) expect(firstParameterName(fn)).toBe('tenantId');
    },
  );

  test('no API file imports a full repository class (only their Tenant* views and tokens)', () => {
    const offenders: string[] = [];
    for (const file of apiFiles) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'[^']*libs\/persistence\/([\w-]+)\.repository'/g)) {
        const names = match[1]!.split(',').map((n) => n.replace(/\btype\b/, '').trim()).filter(Boolean);
        const full = names.filter((n) => !/^(Tenant\w+Repository|TENANT_\w+|New\w+)$/.test(n) && n !== 'DirectoryRepository');
        if (full.length) offenders.push(`${relative(file)}: ${full.join(', ')} from ${match[2]}.repository`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('no API file calls a by-id lookup of the worker', () => {
    const offenders = apiFiles.filter((file) => /\.findById\s*\(/.test(readFileSync(file, 'utf8'))).map(relative);
    expect(offenders).toEqual([]);
  });

  test('the lint sees the API: it finds the services that use the tenant views', () => {
    const users = apiFiles.filter((file) => /TENANT_(PAYMENTS|CONSENTS|TRANSFERS|MANDATES|WEBHOOKS|BATCHES)/.test(readFileSync(file, 'utf8'))).map(relative);
    expect(users).toEqual(expect.arrayContaining(['payments/payments.service.ts', 'consents/consents.service.ts', 'open-payments/transfers.service.ts', 'open-payments/mandates.service.ts', 'webhooks/webhooks.service.ts', 'batches/batches.service.ts']));
  });
});

import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { ClearwayConfig } from '../../../libs/config/config';
import type { Logger } from '../../../libs/observability/logger';
import type { NotificationContent, WebhookEndpointEntity } from '../../../libs/persistence/entities/webhook.entity';
import { WebhookRepository } from '../../../libs/persistence/webhook.repository';
import { dispatcherSettings, wakeOrLeaveToSweep } from '../../../libs/webhooks/dispatchers';
import type { Principal } from '../auth/token.service';
import type { HttpResult } from '../common/http-result';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { endpointUrl, parseNotificationContent } from './webhook-request.validator';

/** A TPP-Notification-URI as accepted on an initiation request, before the resource exists. */
export interface AcceptedNotification {
  uri: string;
  content: NotificationContent[];
  /** The tenant's endpoint the URI belongs to; none means Clearway answers ASPSP-Notification-Support: false. */
  endpoint?: WebhookEndpointEntity;
}

/**
 * Berlin Group resource status notifications (`TPP-Notification-URI`,
 * `TPP-Notification-Content-Preferred`). BG requires the URI to lie in the domain the TPP proved
 * it owns (its QWAC); Clearway's equivalent is a webhook endpoint the tenant registered: the URI
 * must use that endpoint's scheme and port, on its host or a subdomain of it, and the notifications
 * are signed with that endpoint's secret (Standard Webhooks). Otherwise the header is answered with
 * `ASPSP-Notification-Support: false`, as BG allows.
 */
@Injectable()
export class TppNotificationsService {
  constructor(
    @Inject(WebhookRepository) private readonly webhooks: WebhookRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Validates the headers before anything is stored (a bad URI is a 400 naming the header). */
  async accept(principal: Principal, uri: string | undefined, contentPreferred: string | undefined): Promise<AcceptedNotification | undefined> {
    if (uri === undefined) return undefined;
    const content = parseNotificationContent(contentPreferred);
    const checked = await endpointUrl('TPP-Notification-URI', uri, this.config.outbound);
    const endpoints = await this.webhooks.listEndpoints(principal.tenantId);
    return { uri: checked, content, endpoint: endpoints.find((e) => e.enabled && coversUri(e.url, checked)) };
  }

  /**
   * After a successful initiation: subscribes the new resource (queuing what already happened to it)
   * and answers with the BG notification headers.
   */
  async attach(principal: Principal, result: HttpResult<object>, accepted: AcceptedNotification | undefined, idField: 'paymentId' | 'consentId'): Promise<HttpResult<object>> {
    if (!accepted || result.status >= 300) return result;
    const resourceId = (result.body as Record<string, unknown> | undefined)?.[idField];
    const endpoint = accepted.endpoint;
    if (!endpoint || typeof resourceId !== 'string') return { ...result, headers: { ...result.headers, 'ASPSP-Notification-Support': 'false' } };
    const queued = await this.webhooks.subscribeNotifications({ subjectId: resourceId, tenantId: principal.tenantId, endpointId: endpoint.id, uri: accepted.uri, content: accepted.content });
    if (queued.length) await wakeOrLeaveToSweep(this.temporal, dispatcherSettings(this.config), { endpointId: endpoint.id, tenantId: endpoint.tenantId }, this.logger);
    return {
      ...result,
      headers: { ...result.headers, 'ASPSP-Notification-Support': 'true', 'ASPSP-Notification-Content': `status=${accepted.content.join(',')}` },
    };
  }
}

/** The URI lies within the endpoint's origin: same scheme and port, same host or a subdomain of it. */
export function coversUri(endpointUrl: string, uri: string): boolean {
  const e = new URL(endpointUrl);
  const u = new URL(uri);
  if (e.protocol !== u.protocol || e.port !== u.port) return false;
  return u.hostname === e.hostname || (!isIP(e.hostname.replace(/^\[|\]$/g, '')) && u.hostname.endsWith(`.${e.hostname}`));
}

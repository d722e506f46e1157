/**
 * OAuth2 scopes of the Open Payments Europe API: one or more services plus exactly one context.
 * `webhooks` is Clearway's own: managing a tenant's webhook endpoints.
 */
export const SERVICES = ['aspspinformation', 'paymentinitiation', 'accountinformation', 'webhooks'] as const;
export type Service = (typeof SERVICES)[number];
export const CONTEXTS = ['private', 'corporate'] as const;
export type Context = (typeof CONTEXTS)[number];

export interface ParsedScope {
  services: Service[];
  context: Context;
}

export function parseScope(scope: string): ParsedScope | { error: string } {
  const parts = scope.split(/\s+/).filter(Boolean);
  const services = parts.filter((p): p is Service => (SERVICES as readonly string[]).includes(p));
  const contexts = parts.filter((p): p is Context => (CONTEXTS as readonly string[]).includes(p));
  const unknown = parts.filter((p) => !services.includes(p as Service) && !contexts.includes(p as Context));
  if (unknown.length) return { error: `unknown scope value(s): ${unknown.join(', ')}` };
  if (!services.length) return { error: `scope must name a service: ${SERVICES.join(', ')}` };
  if (contexts.length !== 1) return { error: 'scope must contain exactly one of "private" or "corporate"' };
  return { services: [...new Set(services)], context: contexts[0]! };
}

import type { Request } from 'express';

/**
 * Routes that take an XML body (ISO 20022 pain.001) besides JSON. Everything else on the client
 * APIs stays JSON-only (415 otherwise, see http-hardening.ts). One line per route.
 */
export const XML_BODY_ROUTES: readonly RegExp[] = [/^\/psd2\/paymentinitiation\/v1\/bulk-payments\/pain\.001-[^/?]+\/?(\?|$)/];

export const XML_MEDIA_TYPES = ['application/xml', 'text/xml'];

/** The request carries XML to a route that takes it. */
export function isAcceptedXmlBody(req: Request): boolean {
  return Boolean(req.is(XML_MEDIA_TYPES)) && XML_BODY_ROUTES.some((r) => r.test(req.originalUrl));
}

import { STRICT_OUTBOUND_POLICY, type Resolver } from '../../../libs/security/outbound-url';
import { parseNotificationContent, validateEndpointPatch, validateEndpointRequest, validateReplayWindow } from './webhook-request.validator';
import { coversUri } from './tpp-notifications.service';

const publicDns: Resolver = async () => [{ address: '93.184.215.14', family: 4 }];
const internalDns: Resolver = async () => [{ address: '10.0.0.8', family: 4 }];

describe('webhook endpoint requests', () => {
  it('accepts an https URL resolving to public addresses, with or without event types', async () => {
    await expect(validateEndpointRequest({ url: 'https://hooks.example.com/x' }, STRICT_OUTBOUND_POLICY, publicDns)).resolves.toEqual({
      url: 'https://hooks.example.com/x',
      description: null,
      eventTypes: null,
    });
    await expect(
      validateEndpointRequest({ url: 'https://hooks.example.com/x', eventTypes: ['payment.status_changed', 'payment.status_changed'], description: 'ERP' }, STRICT_OUTBOUND_POLICY, publicDns),
    ).resolves.toMatchObject({ eventTypes: ['payment.status_changed'], description: 'ERP' });
  });

  it.each([
    [{ url: 'https://hooks.example.com/x' }, internalDns, 'url', 'private'],
    [{ url: 42 }, publicDns, 'url', 'URL'],
    [{ url: 'https://hooks.example.com/x', eventTypes: 'payment.status_changed' }, publicDns, 'eventTypes', 'array'],
    [{ url: 'https://hooks.example.com/x', description: 'x'.repeat(501) }, publicDns, 'description', '500'],
    [[], publicDns, 'body', 'object'],
  ])('refuses %j, naming the field', async (body, dns, path, text) => {
    await expect(validateEndpointRequest(body, STRICT_OUTBOUND_POLICY, dns)).rejects.toMatchObject({ path, message: expect.stringContaining(text) });
  });

  it('a patch names at least one known field; enabled is a boolean', async () => {
    await expect(validateEndpointPatch({}, STRICT_OUTBOUND_POLICY, publicDns)).rejects.toMatchObject({ path: 'body' });
    await expect(validateEndpointPatch({ enabled: 'yes' }, STRICT_OUTBOUND_POLICY, publicDns)).rejects.toMatchObject({ path: 'enabled' });
    await expect(validateEndpointPatch({ eventTypes: null, enabled: false }, STRICT_OUTBOUND_POLICY, publicDns)).resolves.toEqual({ eventTypes: null, enabled: false });
  });
});

describe('replay window', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  it.each([
    [undefined, undefined, 'since'],
    ['2026-12-01', undefined, 'since'],
    ['2026-12-01T13:00:00Z', undefined, 'since'],
    ['2026-10-01T00:00:00Z', undefined, 'since'],
    ['2026-12-01T08:00:00Z', 'soon', 'until'],
  ])('since=%s until=%s is refused (%s)', (since, until, path) => {
    expect(() => validateReplayWindow(since, until, now)).toThrow(expect.objectContaining({ path }));
  });
  it('defaults until to now', () => {
    expect(validateReplayWindow('2026-12-01T08:00:00Z', undefined, now)).toEqual({ since: new Date('2026-12-01T08:00:00Z'), until: now });
  });
});

describe('Berlin Group notification headers', () => {
  it.each([
    [undefined, ['PROCESS']],
    ['status=SCA', ['SCA']],
    ['status=SCA, PROCESS, LAST', ['SCA', 'PROCESS', 'LAST']],
    ['STATUS=last', ['LAST']],
  ])('TPP-Notification-Content-Preferred %s → %j', (raw, expected) => {
    expect(parseNotificationContent(raw)).toEqual(expected);
  });
  it.each(['SCA', 'status=', 'status=SCA,SCA', 'status=EVERYTHING'])('refuses %s', (raw) => {
    expect(() => parseNotificationContent(raw)).toThrow(expect.objectContaining({ path: 'TPP-Notification-Content-Preferred' }));
  });

  it.each([
    ['https://tpp.example/hooks', 'https://tpp.example/bg/1', true],
    ['https://tpp.example/hooks', 'https://notify.tpp.example/bg/1', true],
    ['https://tpp.example/hooks', 'https://eviltpp.example/bg', false],
    ['https://tpp.example/hooks', 'https://tpp.example.evil.com/bg', false],
    ['https://tpp.example/hooks', 'http://tpp.example/bg', false],
    ['https://tpp.example/hooks', 'https://tpp.example:8443/bg', false],
    ['http://127.0.0.1:8080/hooks', 'http://127.0.0.1:8080/bg', true],
    ['http://127.0.0.1:8080/hooks', 'http://127.0.0.2:8080/bg', false],
    ['http://[::1]:8080/hooks', 'http://[::1]:8080/bg', true],
  ])('endpoint %s covers %s: %s', (endpoint, uri, covered) => {
    expect(coversUri(endpoint, uri)).toBe(covered);
  });
});

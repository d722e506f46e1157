import type { HandoffRepository } from '../persistence/handoff.repository';
import type { SecretBox } from './secret-box';

/**
 * What a PSU types (an embedded-SCA password, an OTP) or sends (their IP address) must reach the
 * bank without passing through Temporal history: the API seals it into PostgreSQL and hands the
 * workflow an id; the activity opens it, uses it, and deletes it.
 */
export class SensitiveHandoffs {
  constructor(
    private readonly repository: HandoffRepository,
    private readonly box: SecretBox,
    private readonly ttlMs = 2 * 60_000,
  ) {}

  seal(tenantId: string, purpose: string, secret: string, ttlMs = this.ttlMs): Promise<string> {
    return this.repository.store({ tenantId, purpose, ciphertext: this.box.seal(secret, purpose), ttlMs });
  }

  /** Undefined when missing, expired, for another tenant or another purpose. */
  async open(tenantId: string, id: string, purpose: string): Promise<string | undefined> {
    const handoff = await this.repository.find(id);
    if (!handoff || handoff.tenantId !== tenantId || handoff.purpose !== purpose || handoff.expiresAt.getTime() < Date.now()) return undefined;
    return this.box.open(handoff.ciphertext, purpose);
  }

  async discard(id: string): Promise<void> {
    await this.repository.delete(id);
    await this.repository.purgeExpired();
  }
}

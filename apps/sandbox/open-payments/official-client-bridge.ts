/**
 * Runs the official `@interledger/open-payments` client in a plain Node process and answers calls
 * sent as JSON lines on stdin (`{ id, call: 'grant.request', args: [...] }`). Tests use it because
 * the client loads `ky` with a dynamic `import()`, which jest's CommonJS VM cannot run.
 * Environment: OP_WALLET_ADDRESS_URL, OP_KEY_ID, OP_PRIVATE_KEY_PEM.
 */
import { createInterface } from 'node:readline';
import { createAuthenticatedClient } from '@interledger/open-payments';

async function main(): Promise<void> {
  const client = await createAuthenticatedClient({
    walletAddressUrl: process.env.OP_WALLET_ADDRESS_URL!,
    keyId: process.env.OP_KEY_ID!,
    privateKey: Buffer.from(process.env.OP_PRIVATE_KEY_PEM!),
    useHttp: true,
    validateResponses: true,
  });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const { id, call, args } = JSON.parse(line) as { id: number; call: string; args: unknown[] };
    const [group, method] = call.split('.');
    try {
      const target = (client as unknown as Record<string, Record<string, (...a: unknown[]) => Promise<unknown>>>)[group];
      const result = await target[method](...args);
      process.stdout.write(`${JSON.stringify({ id, ok: true, result: result ?? null })}\n`);
    } catch (err) {
      const e = err as { message?: string; description?: string; status?: number; code?: string; validationErrors?: string[] };
      process.stdout.write(
        `${JSON.stringify({ id, ok: false, error: { message: e.message, description: e.description, status: e.status, code: e.code, validationErrors: e.validationErrors } })}\n`,
      );
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});

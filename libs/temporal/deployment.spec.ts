import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './cli-binary';
import { CUSTOM_SEARCH_ATTRIBUTES } from './search-attributes';

interface ComposeService {
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
}

// docker-compose.yml repeats the search attributes for the shell job that registers them: keep both in step.
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(repoRoot(), 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };

  it('registers exactly CUSTOM_SEARCH_ATTRIBUTES in the namespace job', () => {
    const listed = String(compose.services['temporal-namespace'].environment?.CLEARWAY_SEARCH_ATTRIBUTES).split(/\s+/);
    const expected = Object.entries(CUSTOM_SEARCH_ATTRIBUTES).map(([name, type]) => `${name}=${type}`);
    expect(listed.sort()).toEqual(expected.sort());
  });

  it('only waits on services that exist, and on health only where there is a healthcheck', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, dependency, exists: dependency in compose.services }).toEqual({ name, dependency, exists: true });
        if (condition === 'service_healthy') expect(compose.services[dependency].healthcheck).toBeDefined();
      }
    }
  });

  it('gives api and worker the same Temporal namespace as the namespace job', () => {
    const namespace = compose.services['temporal-namespace'].environment?.TEMPORAL_NAMESPACE;
    expect(compose.services.api.environment?.TEMPORAL_NAMESPACE).toBe(namespace);
    expect(compose.services.worker.environment?.TEMPORAL_NAMESPACE).toBe(namespace);
  });
});

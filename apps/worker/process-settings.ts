/**
 * How a worker process is started, beyond its code: every launcher (the dev launcher, `npm run
 * start:worker`, docker-compose.yml, the benches, the tests' worker processes) applies these, and
 * process-settings.spec.ts keeps the static ones (package.json, docker-compose.yml) in step.
 */

/**
 * Node flags for a worker process. V8 sizes its heap from the host's RAM and collects lazily; a cap
 * keeps a worker with thousands of idle consents near 370 MiB (docs/benchmarks.md).
 */
export const WORKER_NODE_FLAGS = [`--max-old-space-size=${process.env.WORKER_MAX_OLD_SPACE_MB ?? 320}`];

/**
 * Environment for a worker process, read by the C library at start. glibc gives threads that
 * allocate at once their own malloc arenas (up to 8 per core), and a worker has many threads: the
 * Temporal core's, one per workflow thread, libuv's pool. Two arenas took 45–52 MiB off its RSS at
 * the same CPU per payment (docs/benchmarks.md, "Worker memory: malloc arenas"). No effect where
 * the C library is not glibc; an operator's own MALLOC_ARENA_MAX wins.
 */
export const WORKER_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX || '2' };

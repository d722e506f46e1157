import { startTracingFromEnv } from '../../libs/observability/tracing';

/**
 * First import of the api's main: OpenTelemetry tracing starts (when OTEL_TRACES_EXPORTER asks for
 * it) before anything loads `http`, so the instrumentations can patch it. See libs/observability/tracing.ts.
 */
startTracingFromEnv('clearway-api');

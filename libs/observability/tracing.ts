import type { Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';

/**
 * OpenTelemetry traces: HTTP request → Temporal client (StartWorkflow) → workflow (RunWorkflow,
 * StartActivity) → activity (RunActivity) → outbound HTTP to the bank (undici/fetch), one trace.
 *
 * OFF by default. On when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`; a list is
 * allowed); unset or `none` leaves tracing off, and `OTEL_SDK_DISABLED=true` wins over everything.
 * (The OpenTelemetry spec's default exporter is `otlp`; Clearway asks for an explicit opt-in so that a
 * deployment without a collector does not try to reach one.) The OTLP exporter is OTLP/HTTP and
 * reads the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * (default http://localhost:4318/v1/traces), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
 * `OTEL_EXPORTER_OTLP_PROTOCOL` (http/json by default here); the provider reads `OTEL_TRACES_SAMPLER`
 * (+ `_ARG`), `OTEL_BSP_*`; the resource `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
 *
 * Spans carry no personal data: HTTP spans have method, route, status, host and path (ids, never
 * IBANs: Clearway's paths hold none, and request/response headers and bodies are not recorded);
 * Temporal spans have workflow and activity types and ids.
 *
 * Start it before anything loads `http` (apps/api/tracing.ts and apps/worker/tracing.ts are the
 * first import of each main), so that the http instrumentation can patch it.
 */
export interface Tracing {
  readonly provider: NodeTracerProvider;
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** The tracing of this process, if it was started. */
export function activeTracing(): Tracing | undefined {
  return active;
}

/** The exporters `OTEL_TRACES_EXPORTER` asks for; empty when tracing is off. */
export function tracesExportersFromEnv(env: NodeJS.ProcessEnv = process.env): SpanExporter[] {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return [];
  const names = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n && n !== 'none');
  return names.map((name) => {
    if (name === 'otlp') return new OTLPTraceExporter();
    if (name === 'console') return new ConsoleSpanExporter();
    throw new Error(`OTEL_TRACES_EXPORTER: unsupported exporter "${name}" (otlp, console or none)`);
  });
}

/** Starts tracing from the `OTEL_*` variables; does nothing (and returns undefined) when they leave it off. */
export function startTracingFromEnv(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  const exporters = tracesExportersFromEnv(env);
  if (!exporters.length) return undefined;
  return startTracing({ serviceName, spanProcessors: exporters.map((e) => new BatchSpanProcessor(e)) });
}

/** Registers a global tracer provider with W3C trace context and the http and undici (fetch) instrumentations. */
export function startTracing(opts: { serviceName: string; spanProcessors: SpanProcessor[] }): Tracing {
  if (active) return active;
  const resource = new Resource({ 'service.name': opts.serviceName }).merge(envDetectorSync.detect());
  const provider = new NodeTracerProvider({ resource, spanProcessors: opts.spanProcessors });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes are not traffic.
        ignoreIncomingRequestHook: (req) => /^\/(metrics|health)(\/|\?|$)/.test(req.url ?? ''),
        // Temporal's gRPC goes over http2 (not traced here); the OTLP exporter's own requests are not traced.
        ignoreOutgoingRequestHook: (req) => (req.path ?? '').startsWith('/v1/traces'),
        // Server spans named after the route template express matched (`POST /psd2/.../:paymentProduct`).
        applyCustomAttributesOnSpan: (span, request) => {
          const req = request as { method?: string; baseUrl?: string; route?: { path?: unknown } };
          if (typeof req.route?.path === 'string') nameServerSpan(span, req.method ?? 'GET', `${req.baseUrl ?? ''}${req.route.path}`);
        },
      }),
      new UndiciInstrumentation(),
    ],
  });
  const spanProcessor = opts.spanProcessors.length === 1 ? opts.spanProcessors[0]! : new FanOutSpanProcessor(opts.spanProcessors);
  const tracing: Tracing = {
    provider,
    spanProcessor,
    resource,
    async shutdown() {
      unregister();
      await provider.shutdown();
      if (active === tracing) active = undefined;
    },
  };
  active = tracing;
  return tracing;
}

/** Workflow spans are made inside the sandbox and handed out through a sink to these processors. */
class FanOutSpanProcessor implements SpanProcessor {
  constructor(private readonly processors: SpanProcessor[]) {}
  onStart(...args: Parameters<SpanProcessor['onStart']>): void {
    for (const p of this.processors) p.onStart(...args);
  }
  onEnd(...args: Parameters<SpanProcessor['onEnd']>): void {
    for (const p of this.processors) p.onEnd(...args);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.shutdown()));
  }
}

/** The Temporal client's interceptors: StartWorkflow/signal/query spans carrying the HTTP request's context into the workflow. */
export function temporalClientInterceptors(): { workflow: WorkflowClientInterceptor[] } | undefined {
  return active ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

/** The workflow interceptor module to bundle with the workflows when tracing is on. */
export const WORKFLOW_TRACING_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** What a worker adds when tracing is on: activity interceptors and the sink that exports workflow spans. */
export function temporalWorkerTracing(): { interceptors: Pick<WorkerInterceptors, 'activity'>; sinks: InjectedSinks<any> } | undefined {
  if (!active) return undefined;
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(active.spanProcessor, active.resource) },
  };
}

/** Names an HTTP server span after the route template that answered. */
function nameServerSpan(span: Span, method: string, route: string): void {
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}

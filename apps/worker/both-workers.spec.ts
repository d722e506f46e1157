import { WorkerMetrics, METRIC_NAMES } from '../../libs/observability/metrics';
import { bothWorkers } from './worker';

const status = (runState: string, cached: number) => ({ getStatus: () => ({ runState, numCachedWorkflows: cached, numInFlightActivities: 1, numInFlightWorkflowActivations: 2 }) });

describe('the worker process in its metrics (two workers, one per task queue)', () => {
  it('counts one running worker while both run, none once either stopped, and sums slots and caches', async () => {
    const value = async (metrics: WorkerMetrics, name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values[0]!.value;

    const running = new WorkerMetrics();
    running.watch(bothWorkers(status('RUNNING', 3), status('RUNNING', 4)));
    expect(await value(running, METRIC_NAMES.workerRunning)).toBe(1);
    expect(await value(running, METRIC_NAMES.workerCachedWorkflows)).toBe(7);
    expect(await value(running, METRIC_NAMES.workerInFlightActivities)).toBe(2);
    expect(await value(running, METRIC_NAMES.workerInFlightActivations)).toBe(4);

    const halfStopped = new WorkerMetrics();
    halfStopped.watch(bothWorkers(status('RUNNING', 0), status('STOPPED', 0)));
    expect(await value(halfStopped, METRIC_NAMES.workerRunning)).toBe(0);
  });
});

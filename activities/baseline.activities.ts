/** The benchmark baseline's activity: does nothing, so only Temporal's own cost is measured. */
export function createBaselineActivities() {
  return {
    async noop(): Promise<void> {},
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;

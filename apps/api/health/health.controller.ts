import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Client, Connection } from '@temporalio/client';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { TEMPORAL_CLIENT } from '../temporal/temporal.tokens';

type Check = 'up' | 'down';

/**
 * Health for load balancers, orchestrators and `npm run dev`:
 * - `GET /health/live`: the process answers (restart it when this fails);
 * - `GET /health/ready`: the database and Temporal answer and every migration this build knows is
 *   applied (send it traffic only then); 503 with the failing part named otherwise;
 * - `GET /health`: database and Temporal, as before (kept for existing probes).
 */
@Controller('health')
export class HealthController {
  /** Once every migration is applied it stays so for this process: checked until then only. */
  private migrationsApplied = false;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
  ) {}

  @Get()
  async check(@Res() res: Response) {
    const [database, temporal] = await Promise.all([this.database(), this.temporalUp()]);
    const ok = database === 'up' && temporal === 'up';
    res.status(ok ? 200 : 503).json({ status: ok ? 'up' : 'down', database, temporal });
  }

  @Get('live')
  live(@Res() res: Response) {
    res.status(200).json({ status: 'up' });
  }

  @Get('ready')
  async ready(@Res() res: Response) {
    const [database, temporal, migrations] = await Promise.all([this.database(), this.temporalUp(), this.pendingMigrations()]);
    const ok = database === 'up' && temporal === 'up' && migrations.pending.length === 0 && migrations.state === 'up';
    res.status(ok ? 200 : 503).json({
      status: ok ? 'up' : 'down',
      database,
      temporal,
      migrations: migrations.state === 'down' ? 'down' : migrations.pending.length ? 'pending' : 'applied',
      ...(migrations.pending.length ? { pendingMigrations: migrations.pending } : {}),
    });
  }

  private database(): Promise<Check> {
    return this.dataSource.query('SELECT 1').then(() => 'up', () => 'down');
  }

  private temporalUp(): Promise<Check> {
    return (this.temporal.connection as Connection).healthService.check({}).then(
      () => 'up',
      () => 'down',
    );
  }

  /** The migrations of this build missing from the migrations table (`npm run migrate` applies them). */
  private async pendingMigrations(): Promise<{ state: Check; pending: string[] }> {
    if (this.migrationsApplied) return { state: 'up', pending: [] };
    const table = this.dataSource.options.migrationsTableName ?? 'migrations';
    try {
      const rows: { name: string }[] = await this.dataSource.query(`SELECT name FROM "${table}"`);
      const applied = new Set(rows.map((r) => r.name));
      const pending = this.dataSource.migrations.map((m) => m.name ?? m.constructor.name).filter((name) => !applied.has(name));
      this.migrationsApplied = pending.length === 0;
      return { state: 'up', pending };
    } catch (err) {
      // No migrations table yet: nothing is applied.
      if ((err as { code?: string }).code === '42P01') return { state: 'up', pending: this.dataSource.migrations.map((m) => m.name ?? m.constructor.name) };
      return { state: 'down', pending: [] };
    }
  }
}

import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Client, Connection } from '@temporalio/client';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { TEMPORAL_CLIENT } from '../temporal/temporal.tokens';

/** Liveness/readiness for load balancers and `npm run dev`: the database and Temporal both answer. */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
  ) {}

  @Get()
  async check(@Res() res: Response) {
    const [database, temporal] = await Promise.all([
      this.dataSource.query('SELECT 1').then(() => 'up', () => 'down'),
      (this.temporal.connection as Connection).healthService.check({}).then(() => 'up', () => 'down'),
    ]);
    const ok = database === 'up' && temporal === 'up';
    res.status(ok ? 200 : 503).json({ status: ok ? 'up' : 'down', database, temporal });
  }
}

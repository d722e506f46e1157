import { BatchEntity } from './entities/batch.entity';
import { BatchPaymentInfoEntity } from './entities/batch-payment-info.entity';
import { BatchTransactionEntity } from './entities/batch-transaction.entity';
import { Batches1732450000250 } from './migrations/1732450000250-batches';
import { BatchCancel1732450001400 } from './migrations/1732450001400-batch-cancel';

/** Batches' tables and migrations (timestamps 1732450000250–299), registered in data-source.ts. */
export const BATCH_ENTITIES = [BatchEntity, BatchPaymentInfoEntity, BatchTransactionEntity];
export const BATCH_MIGRATIONS = [Batches1732450000250, BatchCancel1732450001400];

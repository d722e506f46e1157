import { PassThrough } from 'node:stream';
import { generatePain001, type GeneratePain001Spec } from './pain001-generator';
import type { Pain001GroupHeader, Pain001PaymentInformation, Pain001Sink, Pain001Transaction } from './pain001';

/**
 * Helpers for tests of code that reads or writes ISO 20022 files (this library's and its callers').
 */

/** Runs a streaming writer into memory and returns what it wrote. */
export async function writtenBytes(write: (out: NodeJS.WritableStream) => Promise<unknown>): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await write(out);
  out.end();
  return Buffer.concat(chunks);
}

/** A generated pain.001 as bytes. */
export function pain001Bytes(spec: GeneratePain001Spec): Promise<Buffer> {
  return writtenBytes((out) => generatePain001(out, spec));
}

/** A sink that records every call, in order. */
export interface RecordingSink extends Pain001Sink {
  calls: ('groupHeader' | 'paymentInformation' | 'transactions')[];
  header?: Pain001GroupHeader;
  paymentInformations: Pain001PaymentInformation[];
  transactionList: Pain001Transaction[];
  chunkSizes: number[];
}

export function recordingSink(): RecordingSink {
  const sink: RecordingSink = {
    calls: [],
    paymentInformations: [],
    transactionList: [],
    chunkSizes: [],
    groupHeader(h) {
      sink.calls.push('groupHeader');
      sink.header = h;
    },
    paymentInformation(p) {
      sink.calls.push('paymentInformation');
      sink.paymentInformations.push(p);
    },
    transactions(chunk) {
      sink.calls.push('transactions');
      sink.chunkSizes.push(chunk.length);
      for (const tx of chunk) sink.transactionList.push(tx);
    },
  };
  return sink;
}

/** A sink that ignores everything: for files read only for their result. */
export const nullSink: Pain001Sink = { groupHeader() {}, paymentInformation() {}, transactions() {} };

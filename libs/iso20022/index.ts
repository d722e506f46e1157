/**
 * ISO 20022 for ERP batches: read pain.001.001.03/.09 as a stream, write pain.002.001.10 as a
 * stream, generate pain.001 files for tests and benchmarks, validate against the XSDs.
 * Pure TypeScript: no Nest, TypeORM or Temporal.
 */
export * from './pain001';
export { readPain001 } from './pain001-reader';
export * from './pain001-generator';
export * from './xsd';
export * from './pain002-writer';

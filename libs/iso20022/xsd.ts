import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { repoRoot } from '../temporal/cli-binary';

/**
 * XSD validation of ISO 20022 messages with libxml2 (xmllint compiled to WebAssembly: nothing
 * native, nothing downloaded at install).
 *
 * The XSDs are not in the repository and no well-kept npm package ships them, so they are
 * configuration: `ISO20022_XSD_DIR` names a directory holding the official files below (as published
 * on iso20022.org). Without it, `$SPECS_DIR/iso20022` and then `../shared/specs/iso20022` next to the
 * checkout are used, which is where development and CI keep them.
 */
export type Iso20022Schema = 'pain.001.001.03' | 'pain.001.001.09' | 'pain.002.001.10';

export const ISO20022_SCHEMAS: readonly Iso20022Schema[] = ['pain.001.001.03', 'pain.001.001.09', 'pain.002.001.10'];

/** The XSDs are missing or unreadable: a deployment fault, not a bad file. */
export class Iso20022XsdUnavailableError extends Error {
  override readonly name = 'Iso20022XsdUnavailableError';
}

/** Where the XSDs are read from (see the module comment for the order). */
export function xsdDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ISO20022_XSD_DIR) return resolve(env.ISO20022_XSD_DIR);
  if (env.SPECS_DIR) return resolve(env.SPECS_DIR, 'iso20022');
  return resolve(repoRoot(), '..', 'shared', 'specs', 'iso20022');
}

const cache = new Map<string, string>();

/** The XSD text, read once per process. Throws `Iso20022XsdUnavailableError` with what to set. */
export function loadXsd(schema: Iso20022Schema, dir: string = xsdDirectory()): string {
  const file = join(dir, `${schema}.xsd`);
  const cached = cache.get(file);
  if (cached !== undefined) return cached;
  if (!existsSync(file)) {
    throw new Iso20022XsdUnavailableError(
      `ISO 20022 schema ${schema}.xsd not found in ${dir}. Set ISO20022_XSD_DIR to a directory holding ` +
        `${ISO20022_SCHEMAS.map((s) => `${s}.xsd`).join(', ')} (the official ISO 20022 message schemas).`,
    );
  }
  const xsd = readFileSync(file, 'utf8');
  cache.set(file, xsd);
  return xsd;
}

/**
 * Fails fast at start-up when any XSD is missing, instead of on the first upload. Returns the
 * directory used.
 */
export function assertXsdsAvailable(dir: string = xsdDirectory()): string {
  for (const schema of ISO20022_SCHEMAS) loadXsd(schema, dir);
  return dir;
}

/** One libxml2 finding, reduced to what locates it. */
export interface XsdError {
  /** 1-based line libxml2 reported, when it did. */
  line?: number;
  /** Local name of the element concerned, when the message names one. */
  element?: string;
  /** Attribute concerned (`Ccy`), when the message names one. */
  attribute?: string;
  /** libxml2's message without namespaces and without the offending value (it may be personal data). */
  message: string;
}

export interface XsdResult {
  valid: boolean;
  errors: XsdError[];
}

// libxml2 in reader (--stream) mode keeps only the current node, so memory stays near the file's own
// size; the ceiling guards against pathological input. Figures in docs/benchmarks.md.
const MAX_MEMORY_PAGES = 4096; // 256 MiB of WebAssembly memory

/**
 * Validates a whole document (bytes or text) against one of the schemas. The document must be
 * well-formed UTF-8: check that first (readPain001 does), libxml2's parser errors are not mapped.
 */
export async function validateXsd(xml: Uint8Array | string, schema: Iso20022Schema, dir?: string): Promise<XsdResult> {
  const xsd = loadXsd(schema, dir);
  const result = await validateXML({
    xml: { fileName: 'message.xml', contents: xml },
    schema: { fileName: `${schema}.xsd`, contents: xsd },
    stream: true,
    maxMemoryPages: MAX_MEMORY_PAGES,
  });
  return { valid: result.valid, errors: result.valid ? [] : parseXmllintErrors(result.rawOutput) };
}

const LINE = /^message\.xml:(\d+): (?:[\w ]+ error : )?(.*)$/;
const ELEMENT = /Element '(?:\{(?:urn|https?):[^}]*\})?([^']+)'(?:, attribute '([^']+)')?: /;

/** xmllint's stderr → one entry per finding (its summary line "fails to validate" dropped). */
export function parseXmllintErrors(stderr: string): XsdError[] {
  const errors: XsdError[] = [];
  for (const raw of stderr.split('\n')) {
    const match = LINE.exec(raw);
    if (!match) continue;
    const [, line, text] = match;
    const element = ELEMENT.exec(text);
    errors.push({
      line: Number(line),
      element: element?.[1],
      attribute: element?.[2],
      message: redact(text),
    });
  }
  return errors;
}

function redact(message: string): string {
  return message
    .replace(/\{(?:urn|https?):[^}]*\}/g, '') // namespaces, not pattern quantifiers such as {2,2}
    .replace(/The value '.*?'(?= is | has )/g, 'The value')
    .replace(/: '.*?'(?= is not a valid value)/g, ': the value')
    .trim();
}

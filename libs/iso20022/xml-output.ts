import { once } from 'node:events';

// Characters XML 1.0 cannot carry: C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/FFFF.
const NOT_XML_CHAR = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Drops what XML cannot carry and flattens line breaks and tabs: ISO 20022 texts are single-line. */
export function cleanText(s: string): string {
  return s.replace(NOT_XML_CHAR, '').replace(/[\t\r\n]/g, ' ');
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Text for an XML element or attribute: cleaned (see `cleanText`) and escaped. */
export function xmlText(s: string): string {
  return escapeXml(cleanText(s));
}

/**
 * Like `xmlText`, cut to at most `max` characters first (XSD lengths count code points, not UTF-16
 * units). Empty when nothing is left: callers omit optional elements then, because every `MaxNText`
 * also has a minimum length of 1.
 */
export function xmlTextMax(s: string, max: number): string {
  const chars = Array.from(cleanText(s));
  return escapeXml(chars.length > max ? chars.slice(0, max).join('') : chars.join(''));
}

/** Splits a text into pieces of at most `max` code points (for repeatable elements such as AddtlInf). */
export function splitText(s: string, max: number): string[] {
  const chars = Array.from(s);
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += max) pieces.push(chars.slice(i, i + max).join(''));
  return pieces;
}

/**
 * Buffers small writes into ~64 kB chunks and honours the destination's backpressure, so a
 * 100,000-transaction document streams at disk/socket speed with flat memory. Never ends `out`.
 */
export class XmlOutput {
  private parts: string[] = [];
  private pending = 0;
  bytes = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly highWaterMark = 64 * 1024,
  ) {}

  /** Queues `s`; awaits the destination when the buffer is full. */
  async write(s: string): Promise<void> {
    this.parts.push(s);
    this.pending += s.length;
    if (this.pending >= this.highWaterMark) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    this.bytes += chunk.length;
    if (!this.out.write(chunk)) await once(this.out as NodeJS.EventEmitter, 'drain');
  }
}

import { PassThrough, Writable } from 'node:stream';
import { cleanText, splitText, XmlOutput, xmlText, xmlTextMax } from './xml-output';

describe('xml text', () => {
  it.each([
    ['a & b <c> "d" \'e\'', 'a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;'],
    ['line\r\nbreak\ttab', 'line  break tab'],
    ['bell\u0007 nul\u0000 fffe\uFFFE', 'bell nul fffe'],
    ['lone \uD800 surrogate', 'lone  surrogate'],
    ['Zürich 北京 😀', 'Zürich 北京 😀'],
  ])('%p → %p', (input, expected) => {
    expect(xmlText(input)).toBe(expected);
  });

  it('cuts by code points before escaping, so an entity is never split', () => {
    expect(xmlTextMax('😀'.repeat(40), 35)).toBe('😀'.repeat(35));
    expect(xmlTextMax('abcd&efgh', 5)).toBe('abcd&amp;');
    expect(xmlTextMax('\u0000\u0001', 35)).toBe('');
  });

  it('splits long texts into pieces of at most N characters', () => {
    expect(splitText('a'.repeat(250), 105).map((p) => p.length)).toEqual([105, 105, 40]);
    expect(splitText('', 105)).toEqual([]);
    expect(cleanText('x\ny')).toBe('x y');
  });
});

describe('XmlOutput', () => {
  it('buffers writes and keeps their order', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const out = new XmlOutput(sink, 10);
    for (const s of ['<a>', 'hello', 'world', '</a>']) await out.write(s);
    await out.flush();
    expect(Buffer.concat(chunks).toString()).toBe('<a>helloworld</a>');
    expect(chunks.length).toBe(2);
    expect(out.bytes).toBe(17);
  });

  it('waits for drain when the destination is full', async () => {
    let release: (() => void) | undefined;
    const written: string[] = [];
    const slow = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        release = cb;
      },
    });
    const out = new XmlOutput(slow, 1);
    const first = out.write('12345');
    let settled = false;
    void first.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    release?.();
    await first;
    expect(written).toEqual(['12345']);
  });
});

/**
 * Text PostgreSQL cannot store: a NUL character (neither `text` nor `jsonb` accept U+0000) and
 * unpaired UTF-16 surrogates (not Unicode at all; `jsonb` refuses their escapes). Such input is
 * refused at the door with a 400 naming the field, instead of failing in the database.
 */
const NUL = '\u0000';
/** With the `u` flag a well-formed surrogate pair is one code point, so this matches only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;

export interface UnstorableText {
  /** Where it is, in the API's path notation: `creditorAccount.iban`, `payments[3].creditorName`. */
  path: string;
  problem: string;
}

function problemOf(text: string): string | undefined {
  if (text.includes(NUL)) return 'contains a NUL character (U+0000), which is not allowed';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate, which is not valid Unicode';
  return undefined;
}

function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/**
 * The first string value or property name in a parsed body (or query) that cannot be stored, or
 * undefined. Walks iteratively, so a deeply nested body cannot exhaust the stack.
 */
export function findUnstorableText(value: unknown, root = ''): UnstorableText | undefined {
  const stack: { value: unknown; path: string }[] = [{ value, path: root }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = problemOf(current);
      if (problem) return { path: path || 'body', problem };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i -= 1) stack.push({ value: current[i], path: `${path}[${i}]` });
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (let i = entries.length - 1; i >= 0; i -= 1) {
        const [key, child] = entries[i]!;
        const keyProblem = problemOf(key);
        // The key itself is the bad text: name its parent, never echo the key back.
        if (keyProblem) return { path: path || 'body', problem: `has a field name that ${keyProblem}` };
        stack.push({ value: child, path: join(path, key) });
      }
    }
  }
  return undefined;
}

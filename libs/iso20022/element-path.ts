/**
 * Where the parser is in an ISO 20022 document, in the two forms callers need:
 * - `key`: element names without indexes below the message element, joined by "/"
 *   (`PmtInf/CdtTrfTxInf/CdtrAcct/Id/IBAN`): cheap, for dispatching on what an element is;
 * - `path()`: the same with 0-based indexes on repeated blocks, joined by "." — what issues show
 *   (`PmtInf[0].CdtTrfTxInf[12].CdtrAcct.Id.IBAN`).
 * The first two levels (`Document` and the message element such as `CstmrCdtTrfInitn`) are left out.
 */
export class ElementPath {
  private readonly labels: string[] = [];
  /**
   * Keys come from a tree of the paths seen so far, so the same path is the same string object every
   * time: its hash is computed once, and map lookups on it stay cheap over a million elements.
   */
  private readonly root: KeyNode = { key: '', children: new Map() };
  private readonly nodes: KeyNode[] = [];
  /** Per open element, how many of each indexed child it has had so far. */
  private readonly counts: (Map<string, number> | undefined)[] = [];

  /** Blocks that repeat and that people count: payment information and transaction levels. */
  static readonly INDEXED = new Set(['PmtInf', 'CdtTrfTxInf', 'OrgnlPmtInfAndSts', 'TxInfAndSts']);

  get depth(): number {
    return this.labels.length;
  }

  /** `key` of the innermost open element; "" for Document and the message element. */
  get key(): string {
    return this.nodes[this.nodes.length - 1]?.key ?? '';
  }

  /** The index of the innermost open element among its like-named siblings (0 when not indexed). */
  lastIndex = 0;

  open(name: string): void {
    const parent = this.counts.length - 1;
    let label = name;
    this.lastIndex = 0;
    if (ElementPath.INDEXED.has(name) && parent >= 0) {
      const counts = (this.counts[parent] ??= new Map());
      this.lastIndex = counts.get(name) ?? 0;
      counts.set(name, this.lastIndex + 1);
      label = `${name}[${this.lastIndex}]`;
    }
    const depth = this.labels.length;
    const parentNode = this.nodes[depth - 1] ?? this.root;
    let node = parentNode.children.get(name);
    if (!node) {
      node = { key: depth < 2 ? '' : depth === 2 ? name : `${parentNode.key}/${name}`, children: new Map() };
      parentNode.children.set(name, node);
    }
    this.labels.push(label);
    this.nodes.push(node);
    this.counts.push(undefined);
  }

  close(): void {
    this.labels.pop();
    this.nodes.pop();
    this.counts.pop();
  }

  /** The issue path of the innermost open element, or of `child` below it, or of an attribute (`@Ccy`). */
  path(child?: string): string {
    const parts = this.labels.slice(2);
    if (child) parts.push(child);
    return parts.length === 0 ? 'Document' : parts.join('.').replace(/\.@/g, '@');
  }
}

interface KeyNode {
  key: string;
  children: Map<string, KeyNode>;
}

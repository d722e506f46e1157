import { ElementPath } from './element-path';

describe('ElementPath', () => {
  function walk(sut: ElementPath, names: string[]): void {
    for (const name of names) sut.open(name);
  }

  it('indexes payment information and transaction blocks, per parent', () => {
    const sut = new ElementPath();
    walk(sut, ['Document', 'CstmrCdtTrfInitn']);
    expect(sut.path()).toBe('Document');
    walk(sut, ['PmtInf', 'CdtTrfTxInf']);
    sut.close();
    walk(sut, ['CdtTrfTxInf', 'CdtrAcct', 'Id', 'IBAN']);
    expect(sut.path()).toBe('PmtInf[0].CdtTrfTxInf[1].CdtrAcct.Id.IBAN');
    expect(sut.key).toBe('PmtInf/CdtTrfTxInf/CdtrAcct/Id/IBAN');
    for (let i = 0; i < 5; i++) sut.close();
    walk(sut, ['PmtInf', 'CdtTrfTxInf', 'Amt', 'InstdAmt']);
    expect(sut.path('@Ccy')).toBe('PmtInf[1].CdtTrfTxInf[0].Amt.InstdAmt@Ccy');
    expect(sut.depth).toBe(6);
  });

  it('names plain elements without indexes and children on request', () => {
    const sut = new ElementPath();
    walk(sut, ['Document', 'CstmrCdtTrfInitn', 'GrpHdr']);
    expect(sut.path('NbOfTxs')).toBe('GrpHdr.NbOfTxs');
    expect(sut.key).toBe('GrpHdr');
  });
});

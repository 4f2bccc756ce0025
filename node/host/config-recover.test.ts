// The recover start mode's configuration (CCF's command.type = "Recover").
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

describe('recover configuration', () => {
  it('resolves the previous ledger and certificate, and refuses contradictions', () => {
    const config = parseConfig({ dataDir: 'n1', recover: { previousLedgerDir: '../n0/ledger', previousServiceCertFile: 'old.pem' } }, '/base');
    expect(config.recover).toEqual({ previousLedgerDir: '/n0/ledger', previousServiceCertFile: '/base/old.pem' });
    expect(parseConfig({ dataDir: 'n1', recover: { previousLedgerDir: '/old' } }, '/base').recover).toEqual({ previousLedgerDir: '/old' });
    expect(() => parseConfig({ dataDir: 'n1', recover: {} }, '/base')).toThrow(ConfigError);
    expect(() => parseConfig({ dataDir: 'n1', recover: 'x' }, '/base')).toThrow(ConfigError);
    expect(() => parseConfig({ dataDir: 'n1', recover: { previousLedgerDir: 'n1/ledger' } }, '/base')).toThrow(/own ledgerDir/);
    expect(() => parseConfig({ dataDir: 'n1', recover: { previousLedgerDir: '/old' }, join: { target: 'h:1', serviceCertFile: 'c.pem' } }, '/base')).toThrow(/neither/);
    expect(() => parseConfig({ dataDir: 'n1', recover: { previousLedgerDir: '/old' }, genesis: { members: [{ certFile: 'm.pem' }] } }, '/base')).toThrow(/neither/);
  });
});

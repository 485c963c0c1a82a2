import { MllpConfigError } from './errors';
import { PeerFilter } from './peer-filter';

describe('PeerFilter', () => {
  const filter = new PeerFilter(['10.1.2.3', '192.168.10.0/24', 'fd00::1', '2001:db8::/32']);

  it.each([
    ['10.1.2.3', true],
    ['10.1.2.4', false],
    ['192.168.10.77', true],
    ['192.168.11.1', false],
    ['fd00::1', true],
    ['FD00:0:0:0:0:0:0:1', true],
    ['2001:db8:1::5', true],
    ['2001:db9::1', false],
  ])('%s allowed: %s', (address, allowed) => {
    expect(filter.allows(address)).toBe(allowed);
  });

  it('matches IPv4 peers reported in IPv4-mapped IPv6 form by a dual-stack listener', () => {
    expect(filter.allows('::ffff:10.1.2.3')).toBe(true);
    expect(filter.allows('::ffff:192.168.10.9')).toBe(true);
    expect(filter.allows('::ffff:10.1.2.4')).toBe(false);
    expect(new PeerFilter(['::ffff:127.0.0.1']).allows('127.0.0.1')).toBe(true);
  });

  it('never allows an unknown or malformed address', () => {
    expect(filter.allows(undefined)).toBe(false);
    expect(filter.allows('')).toBe(false);
    expect(filter.allows('localhost')).toBe(false);
  });

  it.each([[['host.example']], [['10.0.0.0/33']], [['10.0.0.0/x']], [['10.0.0.0/8/8']], [['fd00::/129']], [[]]])(
    'rejects %j at construction',
    (entries) => {
      expect(() => new PeerFilter(entries)).toThrow(MllpConfigError);
    },
  );
});

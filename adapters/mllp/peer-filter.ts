import { BlockList, isIP } from 'node:net';
import { MllpConfigError } from './errors';

const IPV4_MAPPED_PREFIX = '::ffff:';

/**
 * Source-address allow list for inbound MLLP. MLLP has no authentication of
 * its own, so a listener that is not behind mutual TLS relies on this filter
 * (typical interface agreements pin the sender's IP).
 *
 * Entries are IPs (`10.1.2.3`, `fd00::1`) or CIDR ranges (`10.1.2.0/24`).
 * A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`; those are
 * compared as plain IPv4 so `127.0.0.1` matches either form.
 */
export class PeerFilter {
  private readonly list = new BlockList();

  /**
   * @param entries - IPs or CIDR ranges; an empty list is rejected (use no filter instead)
   */
  constructor(entries: readonly string[]) {
    if (entries.length === 0) {
      throw new MllpConfigError('allowedPeers is empty; omit it to accept every peer');
    }
    for (const raw of entries) {
      const entry = raw.trim();
      const [address = '', prefixText, ...rest] = entry.split('/');
      const ip = normalize(address);
      const family = isIP(ip);
      if (family === 0 || rest.length > 0) throw new MllpConfigError(`allowedPeers entry "${entry}" is not an IP address or CIDR range`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefixText === undefined) {
        this.list.addAddress(ip, type);
        continue;
      }
      const prefix = Number(prefixText);
      if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
        throw new MllpConfigError(`allowedPeers entry "${entry}" has an invalid prefix length`);
      }
      this.list.addSubnet(ip, prefix, type);
    }
  }

  /**
   * @param remoteAddress - `socket.remoteAddress`; undefined (socket already gone) is never allowed
   */
  allows(remoteAddress: string | undefined): boolean {
    if (remoteAddress === undefined) return false;
    const ip = normalize(remoteAddress);
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}

function normalize(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith(IPV4_MAPPED_PREFIX) && isIP(lower.slice(IPV4_MAPPED_PREFIX.length)) === 4) {
    return lower.slice(IPV4_MAPPED_PREFIX.length);
  }
  return lower;
}

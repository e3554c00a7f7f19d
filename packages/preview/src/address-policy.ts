import ipaddr from 'ipaddr.js';

/**
 * Why an address must not be fetched, or `undefined` if it is a public unicast address.
 *
 * IPv4 is allowed only in ipaddr.js's `unicast` range: that excludes loopback (127/8),
 * private (10/8, 172.16/12, 192.168/16), link-local (169.254/16, where cloud metadata
 * lives), carrier-grade NAT (100.64/10), multicast, broadcast, unspecified (0/8) and the
 * reserved, documentation and benchmarking blocks. IPv6 likewise, plus: IPv4-mapped
 * (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::/96`) addresses are judged by the IPv4 address
 * inside them; 6to4 and Teredo, which tunnel to an IPv4 address of the peer's choosing, are
 * refused outright.
 *
 * @example
 * blockedReason('169.254.169.254'); // 'linkLocal'
 * blockedReason('::ffff:127.0.0.1'); // 'loopback'
 * blockedReason('93.184.216.34'); // undefined
 */
export function blockedReason(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'invalid';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const range = v6.range();
    if (range === 'ipv4Mapped' || range === 'rfc6145') {
      parsed = v6.toIPv4Address();
    } else if (range === 'rfc6052') {
      const bytes = v6.toByteArray();
      parsed = new ipaddr.IPv4(bytes.slice(12));
    } else {
      return range === 'unicast' ? undefined : range;
    }
  }
  const range = (parsed as ipaddr.IPv4).range();
  return range === 'unicast' ? undefined : range;
}

/** Whether `address` is an IP literal (v4 in dotted form, or v6) rather than a host name. */
export function isIpLiteral(host: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(host) || ipaddr.IPv6.isValid(host);
}

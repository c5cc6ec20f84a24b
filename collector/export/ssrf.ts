/**
 * Keeps API-made destinations off special-purpose addresses: every range of the IANA IPv4
 * and IPv6 Special-Purpose Address Registries (loopback, RFC 1918, CGNAT, link-local and
 * cloud metadata, documentation, benchmarking, AS112, AMT, …), multicast and broadcast,
 * and every IPv6 form that carries an IPv4 address (IPv4-mapped, IPv4-compatible, SIIT,
 * NAT64, 6to4, Teredo), which a host or gateway may route to the embedded address. An
 * address passes only when ipaddr.js classifies it as plain unicast, it is in no registry
 * range, and (IPv6) it lies in global unicast 2000::/3. Checked when a destination is
 * saved and again on every connection, so a DNS answer that changes later cannot redirect
 * exports inward.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** IANA special-purpose registries (2024), for the ranges ipaddr.js calls unicast. Two lists: BlockList matches IPv4 against IPv4-mapped IPv6 rules. */
const special = new BlockList();
const special6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['192.175.48.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) special.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 96], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['100:0:0:1::', 64], ['2001::', 23],
  ['2001:db8::', 32], ['2002::', 16], ['2620:4f:8000::', 48], ['3fff::', 20], ['5f00::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) special6.addSubnet(network, prefix, 'ipv6');
const globalUnicast = new BlockList();
globalUnicast.addSubnet('2000::', 3, 'ipv6');

export class ForbiddenDestinationError extends Error {}

/** True for an address exports may not reach; anything that does not parse as an address is refused too. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0 || !ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.range() !== 'unicast') return true;
  if (family === 4) return special.check(address, 'ipv4');
  return special6.check(address, 'ipv6') || !globalUnicast.check(address, 'ipv6');
}

const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1');

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
}

/** Resolves the URL's host; throws ForbiddenDestinationError naming the problem. */
export async function assertPublicEndpoint(endpoint: string): Promise<void> {
  const host = bare(new URL(endpoint).hostname);
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookupAll(host)).map((a) => a.address);
    } catch (error) {
      throw new ForbiddenDestinationError(`cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const forbidden = addresses.find(isForbiddenAddress);
  if (forbidden !== undefined) {
    throw new ForbiddenDestinationError(`${host} resolves to ${forbidden}, a loopback, private, link-local, metadata or other special-purpose address`);
  }
}

/** A dns.lookup for sockets that refuses forbidden answers. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as unknown as LookupAddress[];
    const forbidden = list.find((a) => isForbiddenAddress(a.address));
    if (forbidden) return callback(new ForbiddenDestinationError(`${hostname} resolves to forbidden address ${forbidden.address}`), '', 0);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0]!;
    callback(null, first.address, first.family);
  });
};

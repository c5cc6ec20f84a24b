/**
 * Keeps API-made destinations off this machine's and its network's private addresses
 * (loopback, RFC 1918, CGNAT, link-local and cloud metadata, unique-local IPv6, and the
 * IPv4-mapped forms of all of these). Checked when a destination is saved and again on
 * every connection, so a DNS answer that changes later cannot redirect exports inward.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32], ['100::', 64],
] as const) blocked.addSubnet(network, prefix, 'ipv6');

export class ForbiddenDestinationError extends Error {}

/** True for an address exports may not reach (IPv4-mapped IPv6 checked as its IPv4). */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
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
    throw new ForbiddenDestinationError(`${host} resolves to ${forbidden}, a loopback, private, link-local or metadata address`);
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

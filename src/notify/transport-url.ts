/**
 * oslo.messaging's transport URL for RabbitMQ:
 * `rabbit://user:pass@host1:5672,user2:pass2@host2:5672/vhost`. Several hosts are tried in
 * turn (failover); a host without credentials takes the previous host's, as oslo does; no
 * port means 5672, no credentials guest/guest, no path the default vhost `/`.
 */
export interface AmqpEndpoint {
  readonly hostname: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly vhost: string;
}

const SCHEMES = new Set(['rabbit', 'kombu', 'amqp']);

/** The endpoints of `url`; throws an Error naming what is wrong (never echoing a password). */
export function parseTransportUrl(url: string): AmqpEndpoint[] {
  const match = /^([a-z0-9+.-]+):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url.trim());
  if (!match) throw new Error('transport_url must look like rabbit://user:password@host:port/vhost');
  const scheme = match[1]!.toLowerCase().split('+')[0]!;
  if (!SCHEMES.has(scheme)) throw new Error(`transport_url scheme ${scheme}:// is not supported (use rabbit://)`);
  const path = match[3] ?? '';
  const vhost = path.length > 1 ? decodeURIComponent(path.slice(1)) : '/';
  let username = 'guest';
  let password = 'guest';
  const endpoints: AmqpEndpoint[] = [];
  for (const part of (match[2] ?? '').split(',')) {
    let hostPort = part;
    const at = part.lastIndexOf('@');
    if (at >= 0) {
      const creds = part.slice(0, at);
      hostPort = part.slice(at + 1);
      const colon = creds.indexOf(':');
      username = decodeURIComponent(colon >= 0 ? creds.slice(0, colon) : creds);
      password = colon >= 0 ? decodeURIComponent(creds.slice(colon + 1)) : '';
    }
    let hostname = hostPort;
    let port = 5672;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
    if (v6) {
      hostname = v6[1]!;
      if (v6[2] !== undefined) port = Number(v6[2]);
    } else {
      const colon = hostPort.lastIndexOf(':');
      if (colon >= 0) {
        hostname = hostPort.slice(0, colon);
        if (!/^\d+$/.test(hostPort.slice(colon + 1))) throw new Error(`transport_url: bad port in host ${JSON.stringify(hostname)}`);
        port = Number(hostPort.slice(colon + 1));
      }
    }
    if (hostname === '') hostname = 'localhost';
    if (port < 1 || port > 65535) throw new Error(`transport_url: port ${port} of ${hostname} is out of range`);
    endpoints.push({ hostname, port, username, password, vhost });
  }
  return endpoints;
}

/** `host:port` list for logs (no credentials). */
export function describeEndpoints(endpoints: readonly AmqpEndpoint[]): string {
  return endpoints.map((e) => `${e.hostname}:${e.port}${e.vhost === '/' ? '' : `/${e.vhost}`}`).join(',');
}

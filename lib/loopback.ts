/**
 * The machine's own host names. An `http` URL on one of them never crosses a network (RFC 8252 §7.3):
 * a local OpenID provider, the local simulator's redirect URI, a Host header the local server serves.
 */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A plain-http URL on a loopback host (`URL.hostname` keeps an IPv6 address in brackets). */
export const isLoopbackHttp = (url: URL): boolean => url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);

/**
 * The protocol log: every message between the simulated Notion and the
 * service, in both directions, with tokens, codes and secrets redacted, kept in
 * a bounded ring and pushed to the playground over Server-Sent Events.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '#core/ports.js';
import { redact, redactString } from '#shared/redact.js';

/**
 * `to-service`: Notion (or the user's browser, sent by Notion) calls the service.
 * `to-notion`: the service calls Notion's API.
 * `note`: something the simulator concluded (validation errors, state changes).
 */
export type LogDirection = 'to-service' | 'to-notion' | 'note';
export type LogLevel = 'info' | 'warn' | 'error';

export interface LogMessage {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface LogEntry {
  readonly seq: number;
  readonly at: string;
  readonly sessionId?: string;
  readonly direction: LogDirection;
  readonly level: LogLevel;
  readonly summary: string;
  readonly method?: string;
  readonly url?: string;
  readonly status?: number;
  readonly request?: LogMessage;
  readonly response?: LogMessage;
}

export type LogInput = Omit<LogEntry, 'seq' | 'at'>;

const MAX_ENTRIES = 2000;

/** Parses a body for display: JSON when it is JSON, form fields when form-encoded, else text. */
export function displayBody(raw: string | undefined, contentType?: string): unknown {
  if (raw === undefined || raw === '') return undefined;
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw.length > 4000 ? `${raw.slice(0, 4000)}…` : raw;
  }
}

const redactMessage = (m: LogMessage | undefined): LogMessage | undefined => {
  if (!m) return undefined;
  const out: { headers?: Record<string, string>; body?: unknown } = {};
  if (m.headers) out.headers = redact(m.headers) as Record<string, string>;
  if (m.body !== undefined) out.body = redact(m.body);
  return out;
};

/** Whether a browser session may see an entry: its own only. */
export const visibleTo = (entry: LogEntry, sessionId: string): boolean => entry.sessionId === sessionId;

export class ProtocolLog extends EventEmitter {
  private readonly entries: LogEntry[] = [];
  private seq = 0;

  constructor(private readonly clock: Clock) {
    super();
    this.setMaxListeners(0);
  }

  add(input: LogInput): LogEntry {
    this.seq += 1;
    const request = redactMessage(input.request);
    const response = redactMessage(input.response);
    const entry: LogEntry = {
      ...input,
      seq: this.seq,
      at: new Date(this.clock.now()).toISOString(),
      summary: redactString(input.summary),
      ...(input.url !== undefined ? { url: redactString(input.url) } : {}),
      ...(request ? { request } : {}),
      ...(response ? { response } : {}),
    };
    if (!request) delete (entry as { request?: unknown }).request;
    if (!response) delete (entry as { response?: unknown }).response;
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    this.emit('entry', entry);
    return entry;
  }

  /**
   * Entries a browser session sees: only those it caused (its previews, its
   * sign-ins) or that concern its connection (the service's pushes to it).
   * Entries tied to no session (a request with an unknown token, a malformed
   * call) stay in `all()` for tests and are shown to nobody.
   */
  forSession(sessionId: string, limit = 300): LogEntry[] {
    return this.entries.filter((e) => visibleTo(e, sessionId)).slice(-limit);
  }

  all(): readonly LogEntry[] {
    return this.entries;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

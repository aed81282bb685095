/**
 * A part of the local runtime served by the local HTTP server under a path
 * prefix: the Notion simulator (/notion and the playground at /), the local
 * OpenID Connect provider (/idp), the demo product (/demo).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface MountContext {
  /** e.g. http://127.0.0.1:3000 */
  readonly baseUrl: string;
  /** The effective settings (defaults merged with the environment). */
  readonly env: Readonly<Record<string, string>>;
  /** The runtime's log (e.g. the simulator's line per push received); absent: the part logs nothing. */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
  /**
   * Where a part keeps its state across restarts (see local/state-dir.ts for
   * the file it owns there); absent: the part keeps everything in memory.
   */
  readonly dataDir?: string;
}

export interface LocalMount {
  readonly name: string;
  /** Path prefix without a trailing slash, e.g. "/notion"; "" serves what no other mount or route takes. */
  readonly prefix: string;
  /** Serves a request whose path starts with `prefix` (the URL is not rewritten). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Optional: false means the path is not this mount's, so the request falls
   * through to the server's 404 JSON answer (used by the catch-all mount).
   */
  owns?(path: string): boolean;
  /** Lines for the start-up banner. */
  readonly urls?: ReadonlyArray<{ readonly label: string; readonly path: string }>;
  /** True once the part is up (GET /healthz is 200 only when every part says so). */
  health?(): Promise<boolean>;
  close?(): Promise<void>;
}

export type MountFactory = (context: MountContext) => Promise<LocalMount>;

/**
 * PDF embeds (`embed.pdf`, docs/protocol.md §4.3) served from the playground's own
 * origin. Chromium's PDF viewer does not run in a sandboxed iframe (any
 * `sandbox` attribute blocks it), and an unsandboxed iframe of an arbitrary
 * URL could be a same-origin HTML page with script. So the simulator fetches
 * the PDF named by a preview it shows, checks that it is one (type and
 * `%PDF-` signature), and serves those bytes as `application/pdf` with
 * `nosniff`: the iframe can then go without a sandbox, because what it shows
 * can only ever be rendered by the PDF viewer. See
 * docs/adr/0105-pdf-embeds-served-by-the-simulator.md.
 */
import type { CardModel } from './attributes.js';
import type { Preview } from './world.js';

/** Largest PDF the playground shows (bigger files answer 502 with the reason). */
export const MAX_PDF_BYTES = 20 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;

export type PdfResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly status: number; readonly reason: string };

/** The `pdf` embed sources a preview currently shows (its card, or its placeholder before that). */
export const pdfSources = (preview: Preview): string[] => {
  const of = (card: CardModel | undefined) =>
    (card?.sections.embed ?? []).filter((i) => i.kind === 'pdf' && i.src).map((i) => i.src as string);
  return [...of(preview.card), ...of(preview.placeholder)];
};

/** Fetches `src` (http/https, no credentials) and returns its bytes if they are a PDF. */
export async function fetchPdf(fetchImpl: typeof fetch, src: string): Promise<PdfResult> {
  if (!/^https?:\/\//i.test(src)) return { ok: false, status: 400, reason: 'not an http(s) URL' };
  let res: Response;
  try {
    res = await fetchImpl(src, {
      headers: { accept: 'application/pdf' },
      credentials: 'omit',
      redirect: 'follow',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (error) {
    return { ok: false, status: 502, reason: `the PDF could not be fetched: ${(error as Error).message}` };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    return { ok: false, status: 502, reason: `the PDF's URL answered HTTP ${res.status}` };
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/pdf') {
    await res.body?.cancel();
    return { ok: false, status: 502, reason: `the URL serves ${type || 'no content type'}, not application/pdf` };
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_PDF_BYTES) {
    await res.body?.cancel();
    return { ok: false, status: 502, reason: `the PDF is larger than ${MAX_PDF_BYTES} bytes` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      // Leaving the loop cancels the rest of the stream.
      if (size > MAX_PDF_BYTES)
        return { ok: false, status: 502, reason: `the PDF is larger than ${MAX_PDF_BYTES} bytes` };
      chunks.push(Buffer.from(chunk));
    }
  }
  const body = Buffer.concat(chunks);
  if (body.subarray(0, 5).toString('latin1') !== '%PDF-')
    return { ok: false, status: 502, reason: 'the file does not start with a PDF signature' };
  return { ok: true, body };
}

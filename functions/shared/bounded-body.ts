/**
 * Reads an answer's body as text up to a size, for the service's own HTTP clients (the source
 * adapters, Notion's API): a body over the limit is neither read to its end nor kept in memory, the
 * rest of it is cancelled. A `content-length` already over the limit is refused before any read.
 * Errors of the stream (a reset, the request's timeout) are thrown as they come.
 */

export type BoundedText = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'too_large' };

export const readBoundedText = async (response: Response, maxBytes: number): Promise<BoundedText> => {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'too_large' };
  }
  if (!response.body) return { kind: 'text', text: '' };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { kind: 'too_large' };
    }
    text += decoder.decode(value, { stream: true });
  }
  return { kind: 'text', text: text + decoder.decode() };
};

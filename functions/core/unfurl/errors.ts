/** The unfurl callback's error answers beyond the token check's 401 (docs/adr/0061). */
import { AppError } from '#shared/errors.js';

/** The source gave no answer in time and there is no snapshot to serve: 503 with Retry-After. */
export class SourceUnavailableResponseError extends AppError {
  override readonly name = 'SourceUnavailableResponseError';
  constructor() {
    super(503, 'source_unavailable', 'The preview source is not answering; try again shortly', {
      expose: true,
      headers: { 'retry-after': '5' },
    });
  }
  override toBody(): unknown {
    return { error: { status: 503, message: this.message } };
  }
}

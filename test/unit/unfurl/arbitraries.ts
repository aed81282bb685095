/** fast-check arbitraries for unfurl attributes: every builder, with hostile inputs. */
import fc from 'fast-check';
import { attr, type UnfurlAttribute } from '#core/unfurl/attributes.js';

export const anyText = fc.string({ maxLength: 2600, unit: 'grapheme' });
const rgbArb = fc.record({ r: fc.double(), g: fc.double(), b: fc.double() });
const urlArb = fc.oneof(
  fc.webUrl(),
  fc.string(),
  fc.webUrl().map((u) => `${u}/${'x'.repeat(2000)}`),
);
const dateArb = fc.oneof(
  fc.date({ noInvalidDate: false }),
  fc.string(),
  fc.constantFrom('2026-02-29', '2024-02-29', '2026-13-01'),
);
const dtArb = fc.oneof(
  fc.date({ noInvalidDate: false }),
  fc.string(),
  fc.integer(),
  fc.constant('2022-01-11T19:53:18.829Z'),
);

export const anyAttribute: fc.Arbitrary<UnfurlAttribute | undefined> = fc.oneof(
  fc
    .tuple(
      fc.string(),
      fc.string(),
      anyText,
      fc.constantFrom('primary', 'secondary', 'identifier', 'avatar', 'body') as fc.Arbitrary<'primary'>,
    )
    .map(([i, n, v, s]) => attr.plainText(i, n, v, s)),
  fc
    .tuple(fc.string(), fc.string(), anyText, fc.option(rgbArb, { nil: undefined }))
    .map(([i, n, v, c]) => attr.enum(i, n, v, c)),
  fc.tuple(fc.string(), fc.string(), dateArb).map(([i, n, v]) => attr.date(i, n, v)),
  fc.tuple(fc.string(), fc.string(), dtArb).map(([i, n, v]) => attr.datetime(i, n, v, 'primary')),
  fc
    .tuple(fc.string(), fc.string(), rgbArb, fc.constantFrom('entity', 'background') as fc.Arbitrary<'entity'>)
    .map(([i, n, c, s]) => attr.color(i, n, c, s)),
  fc
    .tuple(
      fc.string(),
      fc.string(),
      urlArb,
      fc.constantFrom('embed', 'identifier', 'entity', 'avatar') as fc.Arbitrary<'embed'>,
    )
    .map(([i, n, u, s]) => attr.image(i, n, u, s)),
  fc.tuple(fc.string(), fc.string(), urlArb).map(([i, n, u]) => attr.video(i, n, u)),
  fc.tuple(fc.string(), fc.string(), urlArb).map(([i, n, u]) => attr.audio(i, n, u)),
  fc.tuple(fc.string(), fc.string(), urlArb).map(([i, n, u]) => attr.html(i, n, u)),
  fc.tuple(fc.string(), fc.string(), urlArb).map(([i, n, u]) => attr.pdf(i, n, u)),
);

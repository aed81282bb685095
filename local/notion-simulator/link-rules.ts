/**
 * Notion's side of "Unfurling Domain & Patterns" (docs/protocol.md §1b):
 * a pasted link is previewed when its host is the integration's domain (or a
 * sub-domain of it) and a rule's pattern matches it (anywhere, unless the
 * pattern anchors itself with `^…$` as Notion's example does); the rule's
 * placeholder attributes are shown with `$<group>` replaced by the captured
 * values until the unfurl callback answers.
 *
 * Written independently of the service's own matcher on purpose: the
 * simulator plays Notion, so a bug on either side shows up as a disagreement.
 */

/** The integration's dashboard settings, in the shape of functions/core/unfurl/rules.ts. */
export interface IntegrationRules {
  readonly domain: string;
  readonly rules: ReadonlyArray<{
    readonly name: string;
    readonly pattern: string;
    readonly placeholder: readonly unknown[];
    readonly sampleUrls?: readonly string[];
  }>;
}

export interface LinkMatch {
  readonly ruleName: string;
  readonly groups: Readonly<Record<string, string>>;
  /** The rule's placeholder attributes with every `$<group>` substituted. */
  readonly placeholder: unknown;
}

export const MAX_LINK_LENGTH = 2000;

/** Replaces `$<name>` by the group's value; a group that did not take part becomes ''. Other text is kept. */
export function substituteGroups(template: string, groups: Readonly<Record<string, string>>): string {
  return template.replace(/\$<([A-Za-z_$][\w$]*)>/g, (whole, name: string) =>
    Object.hasOwn(groups, name) ? (groups[name] as string) : whole,
  );
}

/** Deep copy of JSON with `$<group>` references substituted in every string value (keys untouched). */
export function substitutePlaceholder(value: unknown, groups: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return substituteGroups(value, groups);
  if (Array.isArray(value)) return value.map((v) => substitutePlaceholder(v, groups));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines every key as an own property: a key "__proto__" stays a key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitutePlaceholder(v, groups)]));
  }
  return value;
}

const inDomain = (hostname: string, domain: string): boolean => {
  const h = hostname.toLowerCase();
  const d = domain
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/^\.+|\.+$/g, '');
  return d !== '' && (h === d || h.endsWith(`.${d}`));
};

const patterns = new Map<string, RegExp>();
const compile = (pattern: string): RegExp => {
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(pattern);
    patterns.set(pattern, re);
  }
  return re;
};

/** The first rule matching `link`, or undefined when Notion would leave the link as a plain link. */
export function matchLink(integration: IntegrationRules, link: string): LinkMatch | undefined {
  if (link.length === 0 || link.length > MAX_LINK_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (!inDomain(url.hostname, integration.domain)) return undefined;
  for (const rule of integration.rules) {
    const m = compile(rule.pattern).exec(link);
    if (!m) continue;
    const groups: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(m.groups ?? {})) groups[k] = v ?? '';
    return { ruleName: rule.name, groups, placeholder: substitutePlaceholder(rule.placeholder, groups) };
  }
  return undefined;
}

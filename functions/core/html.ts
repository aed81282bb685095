/**
 * The one HTML escaper of the tree (service pages, the local IdP, the demo
 * product, the Notion simulator). It escapes every character that can end a
 * text node or an attribute value, quoted or not, as a numeric reference.
 */
export const escapeHtml = (value: string): string => value.replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The parameters each OAuth endpoint reads: the endpoints refuse a repeat of
 * one of these and ignore any other name (RFC 6749 §3.1), and the route table
 * (lib/routes.ts) hands the same lists to the fuzz suites. Constants only, so
 * that the route table can import them without the parsers.
 */
export const AUTHORIZE_PARAMETERS: readonly string[] = [
  'client_id',
  'redirect_uri',
  'response_type',
  'code',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
];
/** RFC 6749 §2.3.1, §4.1.3, §6 and RFC 7636 §4.5. */
export const TOKEN_PARAMETERS: readonly string[] = [
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'scope',
  'client_id',
  'client_secret',
];
/** RFC 7009 §2.1 and the client's credentials. */
export const REVOCATION_PARAMETERS: readonly string[] = ['token', 'token_type_hint', 'client_id', 'client_secret'];

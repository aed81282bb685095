/**
 * The people of the local demo: accounts at the local OpenID Connect provider
 * (/idp) and users of the demo task tracker (/demo). Local only; the passwords
 * are public on purpose.
 */
export interface DemoUser {
  /** Stable subject (`sub`) at the local OpenID Connect provider. */
  readonly subject: string;
  /** What the user types into the login form. */
  readonly login: string;
  readonly password: string;
  readonly name: string;
  readonly email: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    subject: 'u-alice',
    login: 'alice',
    password: 'alice-password',
    name: 'Alice Anderson',
    email: 'alice@acme.example',
  },
  { subject: 'u-bob', login: 'bob', password: 'bob-password', name: 'Bob Baker', email: 'bob@acme.example' },
  { subject: 'u-carol', login: 'carol', password: 'carol-password', name: 'Carol Chen', email: 'carol@acme.example' },
];

export const findDemoUserByLogin = (login: string): DemoUser | undefined => DEMO_USERS.find((u) => u.login === login);
export const findDemoUserBySubject = (subject: string): DemoUser | undefined =>
  DEMO_USERS.find((u) => u.subject === subject);

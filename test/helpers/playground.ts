/**
 * The whole local system with its Notion simulator mounted, as the playground
 * suites (headless driver and browser) use it, the demo product's task pages
 * they preview and edit, and a headless Notion client signing in as a demo user.
 */
import { expect } from '@jest/globals';
import { NotionDriver } from '#local/notion-simulator/driver.js';
import { simulatorFor } from '#local/notion-simulator/mount.js';
import type { NotionSimulator } from '#local/notion-simulator/simulator.js';
import { type LocalSystem, startLocalSystem } from '#local/system.js';
import { runLogLevel } from '#test/helpers/output.js';

export interface SystemWithSimulator {
  readonly system: LocalSystem;
  readonly sim: NotionSimulator;
}

/** Starts the system on an OS-assigned port, its log lines at the run's level and a short long poll. */
export const startSystemWithSimulator = async (): Promise<SystemWithSimulator> => {
  const system = await startLocalSystem({
    port: 0,
    workerWaitSeconds: 1,
    env: { LOG_LEVEL: runLogLevel() },
    log: () => undefined,
  });
  const sim = simulatorFor(system.baseUrl);
  if (!sim) {
    await system.stop();
    throw new Error('the local system did not mount the Notion simulator');
  }
  return { system, sim };
};

/** A task page of the demo product. */
export const demoTaskUrl = (system: Pick<LocalSystem, 'baseUrl'>, id: number): string =>
  `${system.baseUrl}/demo/tasks/${id}`;

/** Edits a task in the demo product as alice: its title, or the form fields given (`description`, `status`, …). */
export const editDemoTask = async (
  system: Pick<LocalSystem, 'baseUrl'>,
  id: number,
  fields: string | Readonly<Record<string, string>>,
): Promise<void> => {
  const as = await fetch(`${system.baseUrl}/demo/as/alice`, { redirect: 'manual' });
  const cookie = as.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const edit = await fetch(demoTaskUrl(system, id), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams(typeof fields === 'string' ? { title: fields } : fields).toString(),
  });
  expect(edit.status).toBeLessThan(400);
};

/** What alice types at the local IdP, and her answer on the consent page. */
export const ALICE_ALLOWS: Readonly<Record<string, string>> = {
  login: 'alice',
  password: 'alice-password',
  decision: 'allow',
};

/** A headless Notion client on the system's playground, opened, that fills the sign-in and consent forms with `formValues`. */
export const openDriver = async (
  system: LocalSystem,
  formValues: Readonly<Record<string, string>> = ALICE_ALLOWS,
): Promise<NotionDriver> => {
  const driver = new NotionDriver({ baseUrl: system.baseUrl, formValues });
  await driver.open();
  return driver;
};

/** Pushes a preview whose embed is a PDF (`src`) to the simulated Notion, as the update worker would. */
export const pushPdfEmbed = (
  system: LocalSystem,
  input: { readonly accessToken: string; readonly uri: string; readonly title: string; readonly src: string },
): Promise<Response> =>
  fetch(`${system.baseUrl}/notion/v1/external/object`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${input.accessToken}`,
      'content-type': 'application/json',
      'notion-version': '2021-08-16',
    },
    body: JSON.stringify({
      uri: input.uri,
      operations: [
        {
          path: ['attributes'],
          set: [
            { id: 'title', name: 'Title', type: 'inline', inline: { title: { value: input.title, section: 'title' } } },
            { id: 'dev', name: 'Dev', type: 'inline', inline: { plain_text: { value: 'Demo', section: 'secondary' } } },
            { id: 'plan', name: 'Plan', type: 'embed', embed: { src_url: input.src, pdf: { section: 'embed' } } },
          ],
        },
      ],
    }),
  });

/**
 * Loads a source adapter module of a team's own by its path: what the local
 * system does for SOURCE_ADAPTER_MODULE, and what a team's `bin/app.ts` does
 * to hand the stack the module and its declaration (`source` prop).
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '#shared/errors.js';
import { type SourceAdapterDefinition, sourceAdapterOfModule } from './define.js';

export interface SourceAdapterModule {
  /** Absolute path of the module file. */
  readonly entry: string;
  /** Its declaration (its default export, or its one declared export). */
  readonly definition: SourceAdapterDefinition;
}

/** Imports the module at `file` (a path, relative to `cwd`, or a file URL) and returns its declaration. */
export const loadSourceAdapterModule = async (
  file: string | URL,
  cwd: string = process.cwd(),
): Promise<SourceAdapterModule> => {
  const entry =
    file instanceof URL || file.startsWith('file:')
      ? fileURLToPath(file)
      : isAbsolute(file)
        ? file
        : resolve(cwd, file);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`source adapter module ${entry} could not be loaded: ${(error as Error).message}`);
  }
  return { entry, definition: sourceAdapterOfModule(namespace, entry) };
};

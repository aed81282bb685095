/**
 * How the local system runs the handlers: many invocations at once in one
 * process, as a Lambda environment that takes several concurrent invocations
 * does (Lambda Managed Instances). Like that runtime, it sets
 * AWS_LAMBDA_MAX_CONCURRENCY and runs each invocation, and each handler
 * module's initialization, in its own context of the InvokeStore
 * (@aws/lambda-invoke-store). Powertools keeps an invocation's log keys,
 * Lambda context, metric dimensions and batch state there, so a request
 * served while another waits (the JWK Set request an unfurl's product call
 * makes) never lends its route or request id to the other's log lines.
 *
 * A deployed function in the default Lambda runtime takes one invocation at a
 * time and needs none of this.
 */
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';

/** What makes Powertools keep per-invocation state in the InvokeStore. */
export const MAX_CONCURRENCY_VARIABLE = 'AWS_LAMBDA_MAX_CONCURRENCY';
/** The value the local system gives it (Powertools only asks whether it is set). */
export const LOCAL_MAX_CONCURRENCY = '64';

// The process has one InvokeStore, made by the first caller: the AWS SDK asks for it (without asking for
// concurrent contexts) on its first request. Asked for here, when this module loads, before any request.
const store = await InvokeStore.getInstanceAsync(true);

/** True when a context set by run() ends with it, as with concurrent invocations; false for the single-invocation store. */
const isolates = (): boolean => {
  if (store.hasContext()) return false;
  let inside = false;
  store.run({}, () => {
    inside = store.hasContext();
  });
  return inside && !store.hasContext();
};

export interface Invocations {
  /** Runs a handler module's initialization (its import) in a context of its own. */
  init<T>(load: () => Promise<T>): Promise<T>;
  /** The handler, each of whose invocations runs in a context of its own, named by the Lambda request id. */
  isolate<H extends (...args: never[]) => unknown>(handler: H): H;
}

/**
 * Contexts per invocation, or undefined when this process's InvokeStore was made for a single invocation
 * at a time (something asked for it before this module loaded): the handlers then run as they are, and
 * log lines of concurrent requests may carry each other's keys.
 */
export const concurrentInvocations = (): Invocations | undefined => {
  if (!isolates()) return undefined;
  return {
    init: (load) => store.run({}, load),
    isolate: <H extends (...args: never[]) => unknown>(handler: H): H =>
      ((...args: Parameters<H>) => {
        const requestId = (args[1] as Partial<Context> | undefined)?.awsRequestId;
        return store.run(requestId ? { [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId } : {}, () =>
          handler(...args),
        );
      }) as H,
  };
};

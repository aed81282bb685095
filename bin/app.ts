#!/usr/bin/env node
/**
 * CDK entry point (`cdk.json` runs it with tsx). Choose the stage and other
 * settings with context, e.g. `npx cdk deploy -c stage=prod`. A refused setting
 * (StageConfigError) is printed as one line naming its context key, without a
 * stack trace; anything else fails as usual.
 */
import { createServiceApp } from '../lib/app.js';
import { StageConfigError } from '../lib/stage-config.js';

try {
  createServiceApp();
} catch (error) {
  if (!(error instanceof StageConfigError)) throw error;
  process.stderr.write(`cdk: ${error.message}\n`);
  process.exitCode = 1;
}

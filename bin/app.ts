#!/usr/bin/env node
/**
 * CDK entry point (`cdk.json` runs it with tsx). Choose the stage and other
 * settings with context, e.g. `npx cdk deploy -c stage=prod`.
 */
import { createServiceApp } from '../lib/app.js';

createServiceApp();

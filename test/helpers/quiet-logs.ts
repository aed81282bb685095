/**
 * Jest setup: the handlers' JSON log lines are off in tests (`SILENT`), so that a test run's output
 * shows the tests, not the failure paths they exercise on purpose. A test that reads the logs (for
 * secrets, for their shape) sets the logger's level itself (`logger.setLogLevel('INFO')`) and
 * captures them (test/helpers/output.ts). `LOG_LEVEL=WARN npm test` prints them again.
 */
process.env.LOG_LEVEL ??= 'SILENT';

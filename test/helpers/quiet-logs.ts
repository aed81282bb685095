/**
 * Jest setup: the handlers' JSON log lines default to warnings and errors in tests, so that a test
 * run's output stays readable. A test that reads the logs (for secrets, for their shape) sets the
 * logger's level itself (`logger.setLogLevel('INFO')`).
 */
process.env.LOG_LEVEL ??= 'WARN';

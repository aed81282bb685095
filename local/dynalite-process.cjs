/**
 * dynalite in a process of its own (EmulatorOptions.dynamoProcess = 'child'):
 * DynamoDB then works on another core than the handlers, as the real service
 * runs elsewhere. Listens on DYNALITE_HOST:DYNALITE_PORT (0 = OS-assigned),
 * keeps its LevelDB under DYNALITE_PATH when set (else in memory), sends
 * { port } to the parent over IPC, and exits, after closing the database,
 * on SIGTERM or when the parent goes. Ctrl-C reaches the whole process group:
 * SIGINT is left to the parent, which ends this process once it no longer
 * needs it.
 * Plain JavaScript, so that it starts without the TypeScript loader.
 */
const dynalite = require('dynalite');

const path = process.env.DYNALITE_PATH || undefined;
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
server.listen(Number(process.env.DYNALITE_PORT || 0), process.env.DYNALITE_HOST || '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // Closing the server closes the LevelDB too; exit anyway if that hangs.
  setTimeout(() => process.exit(0), 5000).unref();
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', () => undefined);

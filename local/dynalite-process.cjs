/**
 * dynalite in a process of its own (EmulatorOptions.dynamoProcess = 'child'):
 * DynamoDB then works on another core than the handlers, as the real service
 * runs elsewhere. Listens on DYNALITE_HOST:DYNALITE_PORT (0 = OS-assigned),
 * sends { port } to the parent over IPC, and exits when the parent goes.
 * Plain JavaScript, so that it starts without the TypeScript loader.
 */
const dynalite = require('dynalite');

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(Number(process.env.DYNALITE_PORT || 0), process.env.DYNALITE_HOST || '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
process.on('disconnect', () => process.exit(0));

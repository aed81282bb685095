// Preloaded by `npm start`, `npm test` and the other scripts (`node --import ./scripts/require-node.mjs …`)
// so that an older Node.js stops at once with one line instead of a dependency's stack trace.
// Plain JavaScript with no imports, so that it runs on any Node.js that supports --import.
const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= REQUIRED_MAJOR)) {
  process.stderr.write(
    `notion-link-preview needs Node.js ${REQUIRED_MAJOR} or later (this is ${process.version}): run \`nvm install\` (reads .nvmrc) or see https://nodejs.org/en/download\n`,
  );
  process.exit(1);
}

import { processDeps, runCli } from './program';

/** Entry point of the `clearway` bin (through bin/clearway.js). */
void runCli(process.argv.slice(2), processDeps()).then((code) => {
  process.exitCode = code;
});

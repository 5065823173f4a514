// Loaded with `node --import`: appends the URL of every module the process loads to the file named
// by OUTPOST_TEST_LOADED_MODULES, one a line, so a test can see what a command line imported.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
const file = ${JSON.stringify(process.env.OUTPOST_TEST_LOADED_MODULES ?? '')};
export async function load(url, context, next) {
  if (file) appendFileSync(file, url + '\\n');
  return next(url, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

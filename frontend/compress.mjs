// Trunk's post-build hook: a brotli and a gzip copy beside every script, style and wasm file of the
// build, made once here at the highest levels, so that the server sends them as they are
// (tower-http's ServeDir picks the one the browser accepts) instead of compressing per request.
// Not the page: it is a kilobyte, and the one file a deployment edits after the build (to name
// the API's origin), which would leave a stale compressed copy beside it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('compress.mjs runs as a Trunk hook, with TRUNK_STAGING_DIR set');
  process.exit(1);
}
for (const name of readdirSync(dir)) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const path = join(dir, name);
  const bytes = readFileSync(path);
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${path}.br`, brotli);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  console.log(`${name}: ${bytes.length} bytes, brotli ${brotli.length}`);
}

// Runs s3rver (S3-compatible storage for tests) on 127.0.0.1, port 0 unless given, with the
// bucket `logs`, and prints "s3rver listening on 127.0.0.1:PORT". Started as a child process by
// access_log.test.mjs, which stops it by PID (SIGKILL) to simulate an S3 outage.
//
// Usage: node s3_server.mjs DIRECTORY [PORT]

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const e2eRequire = createRequire(path.join(here, '..', 'e2e', 'package.json'));
const { default: S3rver } = await import(pathToFileURL(e2eRequire.resolve('s3rver')).href);

const [directory, port = '0'] = process.argv.slice(2);
const server = new S3rver({
    address: '127.0.0.1',
    port: Number(port),
    directory,
    silent: true,
    configureBuckets: [{ name: 'logs' }],
    // s3rver does not implement SigV4 checks; the test's proxy verifies every signature first.
    allowMismatchedSignatures: true,
});
const addr = await server.run();
process.stdout.write(`s3rver listening on 127.0.0.1:${addr.port}\n`);

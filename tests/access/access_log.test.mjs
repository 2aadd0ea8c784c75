// End-to-end checks of the access log (src/telemetry/access, docs/access-log.md): the real
// gateway against the mock provider, with the Parquet files read back by two independent readers
// (DuckDB and hyparquet), S3 delivery to s3rver behind a proxy that verifies every SigV4
// signature with @smithy/signature-v4 (s3rver itself does not), an S3 outage, and kill -9 under
// load followed by a restart that replays the spool.
//
// Binaries come from SB_SWITCHBOARD_BIN and SB_MOCK_BIN (ctest sets both), else build/. The npm
// packages are the ones pinned in tests/e2e/package.json. Every wait has a deadline; waits poll a
// condition (a counter, a file), never sleep for a fixed time.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const e2eRequire = createRequire(path.join(repoRoot, 'tests', 'e2e', 'package.json'));
const load = (name) => import(pathToFileURL(e2eRequire.resolve(name)).href);
const { DuckDBInstance } = await load('@duckdb/node-api');
const { parquetReadObjects } = await load('hyparquet');
const { compressors } = await load('hyparquet-compressors');
const { SignatureV4 } = await load('@smithy/signature-v4');
const { Sha256 } = await load('@aws-crypto/sha256-js');

const SWITCHBOARD = process.env.SB_SWITCHBOARD_BIN || path.join(repoRoot, 'build', 'switchboard');
const MOCK = process.env.SB_MOCK_BIN || path.join(repoRoot, 'build', 'mock-provider');
const DEADLINE_MS = 30_000;

// Canaries: the provider key the gateway sends upstream and the key clients send the gateway.
// Neither may appear in any file, object or spool segment.
const PROVIDER_KEY = 'sk-canary-provider-7f3a9c0b';
const CLIENT_KEY = 'sk-canary-client-51d0e2aa';
// s3rver's built-in account.
const S3_KEY_ID = 'S3RVER';
const S3_SECRET = 'S3RVER';

const live = new Set();
process.on('exit', () => {
    for (const p of live) {
        try {
            process.kill(p.pid, 'SIGKILL');
        } catch {
            // gone
        }
    }
});

class Proc {
    constructor(name, file, args) {
        this.name = name;
        this.output = '';
        this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        this.pid = this.child.pid;
        live.add(this);
        this.exited = new Promise((resolve) => {
            // 'close': the process has exited and its output has been read to the end.
            this.child.on('close', (code, signal) => {
                live.delete(this);
                resolve({ code, signal });
            });
        });
        const keep = (d) => {
            this.output = (this.output + d.toString('utf8')).slice(-65536);
            if (process.env.SB_E2E_VERBOSE) process.stderr.write(`[${name}] ${d}`);
        };
        this.child.stdout.on('data', keep);
        this.child.stderr.on('data', keep);
    }

    async port(pattern) {
        const deadline = Date.now() + DEADLINE_MS;
        let gone = false;
        this.exited.then(() => {
            gone = true;
        });
        for (;;) {
            const m = this.output.match(pattern);
            if (m) return Number(m[1]);
            if (gone || Date.now() > deadline) {
                throw new Error(`${this.name} did not print ${pattern}\n${this.output}`);
            }
            await new Promise((r) => this.child.stdout.once('data', r).once('close', r));
        }
    }

    kill(signal) {
        try {
            process.kill(this.pid, signal);
        } catch {
            // gone
        }
        return this.exited;
    }
}

async function until(what, fn) {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setImmediate(r));
    }
}

async function startMock() {
    const p = new Proc('mock', MOCK, ['--listen', '127.0.0.1:0', '--api-key', PROVIDER_KEY]);
    p.url = `http://127.0.0.1:${await p.port(/listening on 127\.0\.0\.1:(\d+)/)}`;
    return p;
}

async function startS3(dir) {
    const p = new Proc('s3rver', process.execPath, [path.join(here, 's3_server.mjs'), dir]);
    p.portNumber = await p.port(/s3rver listening on 127\.0\.0\.1:(\d+)/);
    return p;
}

// A proxy in front of s3rver that recomputes every request's SigV4 signature with
// @smithy/signature-v4 from what arrived on the wire (the headers the request says it signed,
// the path as sent, the body) and answers 403 SignatureDoesNotMatch when it differs, or when the
// body does not hash to x-amz-content-sha256. With no s3rver behind it, it answers 503.
async function startVerifier() {
    const v = { upstreamPort: null, accepted: 0, rejected: 0, unavailable: 0, keys: [] };
    const signer = new SignatureV4({
        credentials: { accessKeyId: S3_KEY_ID, secretAccessKey: S3_SECRET },
        region: 'us-east-1',
        service: 's3',
        sha256: Sha256,
        uriEscapePath: false,  // S3: the path is signed as sent
    });
    const reject = (res, code, status) => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0"?><Error><Code>${code}</Code></Error>`);
    };
    v.server = http.createServer(async (req, res) => {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks);
        const auth = req.headers.authorization ?? '';
        const m = auth.match(
            /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/);
        const sha = crypto.createHash('sha256').update(body).digest('hex');
        if (!m || m[1] !== S3_KEY_ID || m[3] !== 'us-east-1' ||
            req.headers['x-amz-content-sha256'] !== sha) {
            v.rejected++;
            return reject(res, 'SignatureDoesNotMatch', 403);
        }
        const signed = m[4].split(';');
        const headers = {};
        for (const name of signed) {
            if (req.headers[name] === undefined) {
                v.rejected++;
                return reject(res, 'SignatureDoesNotMatch', 403);
            }
            headers[name] = req.headers[name];
        }
        const amz = req.headers['x-amz-date'];
        const signingDate = new Date(
            `${amz.slice(0, 4)}-${amz.slice(4, 6)}-${amz.slice(6, 8)}T${amz.slice(9, 11)}:` +
            `${amz.slice(11, 13)}:${amz.slice(13, 15)}Z`);
        const [rawPath, rawQuery = ''] = req.url.split('?');
        const query = Object.fromEntries(new URLSearchParams(rawQuery));
        const expected = await signer.sign(
            { method: req.method, protocol: 'http:', hostname: '127.0.0.1', path: rawPath, query,
              headers, body },
            { signingDate, unsignableHeaders: new Set(), signableHeaders: new Set(signed) });
        if (expected.headers.authorization !== auth.replace(/, ?/g, ', ')) {
            v.rejected++;
            return reject(res, 'SignatureDoesNotMatch', 403);
        }
        if (v.upstreamPort === null) {
            v.unavailable++;
            return reject(res, 'ServiceUnavailable', 503);
        }
        v.accepted++;
        v.keys.push(decodeURIComponent(rawPath));
        const up = http.request({ host: '127.0.0.1', port: v.upstreamPort, method: req.method,
                                  path: req.url, headers: req.headers }, (ures) => {
            res.writeHead(ures.statusCode, ures.headers);
            ures.pipe(res);
        });
        up.on('error', () => reject(res, 'ServiceUnavailable', 503));
        up.end(body);
    });
    await new Promise((r) => v.server.listen(0, '127.0.0.1', r));
    v.port = v.server.address().port;
    return v;
}

function gatewayConfig({ mockUrl, dir, verifierPort, local = true, extra = '' }) {
    return `server: {listen: "127.0.0.1:0", workers: 2}
providers:
  mock: {type: openai-compatible, base_url: "${mockUrl}/v1", api_key: "${PROVIDER_KEY}"}
models:
  mock-gpt: {provider: mock, model: gpt-4o-mini}
  mock-500: {provider: mock, model: "gpt-4o-mini;status=500"}
logging:
  enabled: true
  directory: "${local ? path.join(dir, 'out') : ''}"
  spool_dir: "${path.join(dir, 'spool')}"
  fsync_interval: 10ms
  rotate_age: 300ms
${extra}${verifierPort ? `  s3:
    endpoint: "http://127.0.0.1:${verifierPort}"
    bucket: logs
    region: us-east-1
    prefix: gw
    access_key_id: ${S3_KEY_ID}
    secret_access_key: ${S3_SECRET}
    path_style: true
` : ''}`;
}

async function startGateway(configText, dir) {
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, configText);
    const p = new Proc('switchboard', SWITCHBOARD, ['gateway', '--config', file]);
    p.url = `http://127.0.0.1:${await p.port(/switchboard listening on 127\.0\.0\.1:(\d+)/)}`;
    return p;
}

async function chat(gw, model, { stream = false } = {}) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
        body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.arrayBuffer();
    return { id: res.headers.get('x-request-id'), status: res.status };
}

async function metric(gw, name) {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
    return m ? Number(m[1]) : null;
}

function filesUnder(root, suffix) {
    if (!fs.existsSync(root)) return [];
    return fs.readdirSync(root, { recursive: true })
        .map((f) => path.join(root, f))
        .filter((f) => f.endsWith(suffix) && fs.statSync(f).isFile())
        .sort();
}

async function duckRows(glob) {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const reader = await conn.runAndReadAll(
        `SELECT *, typeof(started_at) AS started_type FROM read_parquet('${glob}', ` +
        `hive_partitioning = true, union_by_name = true) ORDER BY request_id`);
    return reader.getRowObjectsJS();
}

async function duckAll(sql) {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    return (await conn.runAndReadAll(sql)).getRowObjectsJS();
}

async function hyparquetRows(files) {
    const rows = [];
    for (const f of files) {
        const buf = fs.readFileSync(f);
        const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
        rows.push(...await parquetReadObjects({ file, compressors }));
    }
    return rows;
}

// Decompressed cell text of every file (with hyparquet) plus the raw bytes of every file under
// `dirs`, checked for the canaries.
async function assertNoCanaries(parquetFiles, dirs) {
    const text = JSON.stringify(await hyparquetRows(parquetFiles),
                                (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    for (const canary of [PROVIDER_KEY, CLIENT_KEY]) {
        assert.ok(!text.includes(canary), `${canary} in a Parquet cell`);
        for (const d of dirs) {
            for (const f of filesUnder(d, '')) {
                assert.ok(!fs.readFileSync(f).includes(canary), `${canary} in ${f}`);
            }
        }
    }
}

const cleanup = [];
after(async () => {
    for (const fn of cleanup.reverse()) await fn();
});

function tempDir() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-access-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

describe('access log', () => {
    test('every request lands once in local and S3 Parquet, read by DuckDB and hyparquet', async () => {
        const dir = tempDir();
        const mock = await startMock();
        cleanup.push(() => mock.kill('SIGKILL'));
        const s3 = await startS3(path.join(dir, 's3'));
        cleanup.push(() => s3.kill('SIGKILL'));
        const verifier = await startVerifier();
        cleanup.push(() => new Promise((r) => verifier.server.close(r)));
        verifier.upstreamPort = s3.portNumber;
        const gw = await startGateway(
            gatewayConfig({ mockUrl: mock.url, dir, verifierPort: verifier.port }), dir);
        cleanup.push(() => gw.kill('SIGKILL'));

        const sent = [];
        for (let i = 0; i < 12; i++) sent.push({ ...await chat(gw, 'mock-gpt'), stream: false });
        for (let i = 0; i < 5; i++) {
            sent.push({ ...await chat(gw, 'mock-gpt', { stream: true }), stream: true });
        }
        for (let i = 0; i < 3; i++) sent.push({ ...await chat(gw, 'mock-500'), stream: false });
        for (let i = 0; i < 2; i++) sent.push({ ...await chat(gw, 'no-such-model'), stream: false });
        assert.equal(sent.filter((s) => s.status === 200).length, 17);
        // SIGTERM: drain, then the log seals and delivers what is left before exiting.
        assert.deepEqual(await gw.kill('SIGTERM'), { code: 0, signal: null });

        const local = filesUnder(path.join(dir, 'out', 'requests'), '.parquet');
        assert.ok(local.length >= 1);
        for (const f of local) {
            assert.match(path.relative(dir, f),
                         /^out\/requests\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/\d{20}\.parquet$/);
        }
        const rows = await duckRows(path.join(dir, 'out', 'requests', '**', '*.parquet'));
        const byId = new Map(sent.map((s) => [s.id, s]));
        assert.equal(rows.length, sent.length);
        assert.equal(new Set(rows.map((r) => r.request_id)).size, sent.length);
        for (const r of rows) {
            const s = byId.get(r.request_id);
            assert.ok(s, `unexpected record ${r.request_id}`);
            assert.equal(r.status, s.status);
            assert.equal(r.schema_version, 1);
            assert.equal(r.endpoint, '/v1/chat/completions');
            assert.equal(r.stream, s.stream);
            assert.equal(r.started_type, 'TIMESTAMP WITH TIME ZONE');
            const started = r.started_at instanceof Date ? r.started_at
                                                         : new Date(Number(r.started_at / 1000n));
            // DuckDB types the Hive partition values itself (dt as DATE, hour as a number).
            const dt = r.dt instanceof Date ? r.dt.toISOString().slice(0, 10) : String(r.dt);
            assert.equal(dt, started.toISOString().slice(0, 10));
            assert.equal(Number(r.hour), started.getUTCHours());
            assert.ok(r.total_ms >= 0 && r.overhead_ms >= 0);
            if (s.status === 200) {
                assert.equal(r.model_requested, 'mock-gpt');
                assert.equal(r.provider, 'mock');
                assert.equal(r.target, 'gpt-4o-mini');
                assert.equal(r.attempts, 1);
                assert.equal(r.error_code, null);
            }
            if (s.stream) assert.ok(r.ttft_ms >= 0 && r.ttft_ms <= r.total_ms);
            else assert.equal(r.ttft_ms, null);
            if (s.status === 404) assert.equal(r.error_code, 'model_not_found');
        }

        // Usage and per-attempt rows (the attempts table joins on request_id).
        for (const r of rows.filter((x) => x.status === 200 && !x.stream)) {
            assert.ok(r.tokens_in > 0n && r.tokens_out > 0n, JSON.stringify(r, (_, v) =>
                (typeof v === 'bigint' ? v.toString() : v)));
        }
        const attempts = await duckAll(
            `SELECT request_id, count(*) AS n, min(attempt) AS first, max(attempt) AS last,
                    bool_and(provider = 'mock') AS all_mock
             FROM read_parquet('${path.join(dir, 'out', 'attempts', '**', '*.parquet')}')
             GROUP BY request_id`);
        const attemptsById = new Map(attempts.map((a) => [a.request_id, a]));
        for (const r of rows) {
            const a = attemptsById.get(r.request_id);
            if (r.attempts === 0) {
                assert.equal(a, undefined);
                continue;
            }
            assert.ok(a, `no attempt rows for ${r.request_id}`);
            assert.equal(Number(a.n), r.attempts);
            assert.equal(a.first, 1);
            assert.equal(a.last, r.attempts);
            assert.equal(a.all_mock, true);
        }

        const hrows = await hyparquetRows(local);
        assert.deepEqual(hrows.map((r) => r.request_id).sort(), rows.map((r) => r.request_id));
        for (const r of hrows) {
            assert.equal(r.status, byId.get(r.request_id).status);
            assert.ok(r.started_at instanceof Date);
        }

        // S3: the same names under the prefix, the same bytes, every PUT signature verified.
        assert.equal(verifier.rejected, 0);
        assert.ok(verifier.accepted >= local.length);
        const objects = filesUnder(path.join(dir, 's3', 'logs'), '._S3rver_object');
        const objectNames = objects.map((f) => path.relative(path.join(dir, 's3', 'logs'), f)
                                               .replace(/\._S3rver_object$/, ''));
        const localNames = filesUnder(path.join(dir, 'out'), '.parquet')
            .map((f) => `gw/${path.relative(path.join(dir, 'out'), f)}`);
        assert.deepEqual(objectNames.sort(), localNames.sort());
        for (const name of localNames) {
            const a = fs.readFileSync(path.join(dir, 'out', name.slice(3)));
            const b = fs.readFileSync(path.join(dir, 's3', 'logs', `${name}._S3rver_object`));
            assert.ok(a.equals(b), name);
        }
        const s3rows = await hyparquetRows(objects.filter((f) => f.includes('/requests/')));
        assert.equal(s3rows.length, sent.length);

        assert.deepEqual(filesUnder(path.join(dir, 'spool'), '.spool'), []);
        await assertNoCanaries(filesUnder(path.join(dir, 'out'), '.parquet'),
                               [path.join(dir, 'out'), path.join(dir, 's3'), path.join(dir, 'spool')]);
    });

    test('bodies, when enabled, are recorded redacted; off by default they are absent', async () => {
        const dir = tempDir();
        const mock = await startMock();
        cleanup.push(() => mock.kill('SIGKILL'));
        const config = gatewayConfig({ mockUrl: mock.url, dir,
            extra: "  bodies:\n    enabled: true\n    redact: ['card-[0-9]{4}']\n" });
        const gw = await startGateway(config, dir);
        cleanup.push(() => gw.kill('SIGKILL'));
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
            body: JSON.stringify({ model: 'mock-gpt',
                                   messages: [{ role: 'user', content: 'my card-1234 please' }] }),
        });
        const answer = await res.json();
        assert.equal(res.status, 200);
        assert.deepEqual(await gw.kill('SIGTERM'), { code: 0, signal: null });
        const rows = await duckRows(path.join(dir, 'out', 'requests', '**', '*.parquet'));
        assert.equal(rows.length, 1);
        assert.match(rows[0].request_body, /my \[REDACTED\] please/);
        assert.doesNotMatch(rows[0].request_body, /card-1234/);
        assert.ok(rows[0].response_body.includes(answer.choices[0].message.content));

        // The same without `bodies`: the columns stay null.
        const dir2 = tempDir();
        const gw2 = await startGateway(gatewayConfig({ mockUrl: mock.url, dir: dir2 }), dir2);
        cleanup.push(() => gw2.kill('SIGKILL'));
        assert.equal((await chat(gw2, 'mock-gpt')).status, 200);
        assert.deepEqual(await gw2.kill('SIGTERM'), { code: 0, signal: null });
        const rows2 = await duckRows(path.join(dir2, 'out', 'requests', '**', '*.parquet'));
        assert.equal(rows2.length, 1);
        assert.equal(rows2[0].request_body, null);
        assert.equal(rows2[0].response_body, null);
    });

    test('a spool directory that cannot be created stops the gateway at startup', async () => {
        const dir = tempDir();
        fs.writeFileSync(path.join(dir, 'file'), 'not a directory');
        const config = gatewayConfig({ mockUrl: 'http://127.0.0.1:9', dir })
            .replace(`spool_dir: "${path.join(dir, 'spool')}"`,
                     `spool_dir: "${path.join(dir, 'file', 'spool')}"`);
        const file = path.join(dir, 'config.yaml');
        fs.writeFileSync(file, config);
        const p = new Proc('switchboard', SWITCHBOARD, ['gateway', '--config', file]);
        const status = await p.exited;
        assert.equal(status.code, 1);
        assert.match(p.output, /logging: cannot create directory .*file\/spool: Not a directory/);
    });

    test('the SigV4 verifier rejects a request signed with the wrong secret', async () => {
        const verifier = await startVerifier();
        try {
            const body = 'x';
            const bad = new SignatureV4({
                credentials: { accessKeyId: S3_KEY_ID, secretAccessKey: 'wrong' },
                region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false,
            });
            const sha = crypto.createHash('sha256').update(body).digest('hex');
            const signed = await bad.sign({
                method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', path: '/logs/k',
                query: {}, body,
                headers: { host: `127.0.0.1:${verifier.port}`, 'x-amz-content-sha256': sha },
            });
            const res = await fetch(`http://127.0.0.1:${verifier.port}/logs/k`, {
                method: 'PUT', headers: signed.headers, body,
            });
            assert.equal(res.status, 403);
            assert.equal(verifier.rejected, 1);
        } finally {
            await new Promise((r) => verifier.server.close(r));
        }
    });

    test('S3 down for a while: records wait in the spool, then catch up without loss', async () => {
        const dir = tempDir();
        const mock = await startMock();
        cleanup.push(() => mock.kill('SIGKILL'));
        const verifier = await startVerifier();  // no s3rver yet: every PUT gets 503
        cleanup.push(() => new Promise((r) => verifier.server.close(r)));
        const gw = await startGateway(
            gatewayConfig({ mockUrl: mock.url, dir, verifierPort: verifier.port, local: false }),
            dir);
        cleanup.push(() => gw.kill('SIGKILL'));

        const ids = [];
        for (let i = 0; i < 20; i++) ids.push((await chat(gw, 'mock-gpt')).id);
        await until('a failed delivery', async () =>
            (await metric(gw, 'switchboard_access_log_delivery_failures_total')) > 0);
        assert.ok(verifier.unavailable > 0);
        assert.ok((await metric(gw, 'switchboard_access_log_spool_bytes')) > 0);
        assert.equal(await metric(gw, 'switchboard_access_log_records_delivered_total'), 0);

        // S3 comes back (a fresh s3rver); the backlog goes out. (The /metrics scrapes above
        // are requests too, with records of their own: count the chat requests only.)
        const s3 = await startS3(path.join(dir, 's3'));
        cleanup.push(() => s3.kill('SIGKILL'));
        verifier.upstreamPort = s3.portNumber;
        const chatIds = async () => {
            const objects = filesUnder(path.join(dir, 's3', 'logs', 'gw', 'requests'),
                                       '._S3rver_object');
            return (await hyparquetRows(objects))
                .filter((r) => r.endpoint === '/v1/chat/completions')
                .map((r) => r.request_id);
        };
        const delivered = await until('the backlog delivered', async () => {
            // s3rver may be writing an object as we read it: a partial file is "not yet".
            const got = await chatIds().catch(() => []);
            if (got.length >= ids.length) return got;
            await new Promise((r) => setTimeout(r, 20));  // poll interval, not a synchronisation
            return null;
        });
        assert.deepEqual(delivered.sort(), [...ids].sort());
        assert.equal(verifier.rejected, 0);
        assert.deepEqual(await gw.kill('SIGTERM'), { code: 0, signal: null });
        assert.deepEqual(filesUnder(path.join(dir, 'spool'), '.spool'), []);
        assert.deepEqual((await chatIds()).sort(), [...ids].sort());  // still once each
    });

    test('a full spool refuses new requests with 503 (policy refuse), then recovers', async () => {
        const dir = tempDir();
        const mock = await startMock();
        cleanup.push(() => mock.kill('SIGKILL'));
        const verifier = await startVerifier();  // S3 down from the start
        cleanup.push(() => new Promise((r) => verifier.server.close(r)));
        const gw = await startGateway(gatewayConfig({
            mockUrl: mock.url, dir, verifierPort: verifier.port, local: false,
            extra: '  spool_max_bytes: 1MiB\n  spool_policy: refuse\n  rotate_bytes: 64KiB\n',
        }), dir);
        cleanup.push(() => gw.kill('SIGKILL'));

        const answered = [];
        let refused = null;
        for (let i = 0; i < 20_000 && !refused; i++) {
            const res = await fetch(`${gw.url}/v1/chat/completions`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'x' }] }),
            });
            const body = await res.json();
            if (res.status === 503) refused = body;
            else answered.push(res.headers.get('x-request-id'));
        }
        assert.ok(refused, 'no 503 before 20000 requests');
        assert.match(refused.error.message, /access log is full/);
        assert.equal(await metric(gw, 'switchboard_access_log_accepting'), 0);
        const dropped = (await (await fetch(`${gw.url}/metrics`)).text())
            .match(/^switchboard_access_log_records_dropped_total\{.*\} (\d+)$/gm)
            .map((l) => Number(l.split(' ').pop()));
        assert.deepEqual(dropped, [0, 0, 0, 0]);
        assert.ok(answered.length > 1000, `${answered.length}`);

        // S3 comes back: the backlog drains, the gateway accepts again.
        const s3 = await startS3(path.join(dir, 's3'));
        cleanup.push(() => s3.kill('SIGKILL'));
        verifier.upstreamPort = s3.portNumber;
        await until('accepting again', async () => {
            if ((await metric(gw, 'switchboard_access_log_accepting')) === 1) return true;
            await new Promise((r) => setTimeout(r, 20));  // poll interval
            return false;
        });
        assert.equal((await chat(gw, 'mock-gpt')).status, 200);
        assert.deepEqual(await gw.kill('SIGTERM'), { code: 0, signal: null });
        const rows = await hyparquetRows(filesUnder(path.join(dir, 's3', 'logs', 'gw', 'requests'),
                                                    '._S3rver_object'));
        const ids = new Set(rows.map((r) => r.request_id));
        assert.equal(ids.size, rows.length);  // no duplicates
        assert.deepEqual(answered.filter((id) => !ids.has(id)), []);
        assert.ok(rows.some((r) => r.status === 503 && r.error_code === 'service_unavailable'));
    });

    test('kill -9 under load, restart: every answered request has exactly one record', async () => {
        const dir = tempDir();
        const mock = await startMock();
        cleanup.push(() => mock.kill('SIGKILL'));
        const config = gatewayConfig({ mockUrl: mock.url, dir });
        let gw = await startGateway(config, dir);
        cleanup.push(() => gw.kill('SIGKILL'));

        const answered = new Set();
        let stop = false;
        const worker = async () => {
            while (!stop) {
                try {
                    const r = await chat(gw, 'mock-gpt', { stream: answered.size % 2 === 0 });
                    if (r.status === 200) answered.add(r.id);
                } catch {
                    return;  // the gateway is gone
                }
            }
        };
        const load = Array.from({ length: 8 }, worker);
        await until('load under way', () => answered.size >= 300);
        await gw.kill('SIGKILL');
        stop = true;
        await Promise.all(load);
        assert.ok(filesUnder(path.join(dir, 'spool'), '.spool').length > 0);

        // Restart on the same spool: the leftovers are replayed; SIGTERM flushes the rest.
        gw = await startGateway(config, dir);
        assert.deepEqual(await gw.kill('SIGTERM'), { code: 0, signal: null });
        assert.deepEqual(filesUnder(path.join(dir, 'spool'), '.spool'), []);

        const rows = await duckRows(path.join(dir, 'out', 'requests', '**', '*.parquet'));
        const counts = new Map();
        for (const r of rows) counts.set(r.request_id, (counts.get(r.request_id) ?? 0) + 1);
        const duplicated = [...counts].filter(([, n]) => n > 1);
        assert.deepEqual(duplicated, []);
        const missing = [...answered].filter((id) => !counts.has(id));
        assert.deepEqual(missing, [], `${missing.length} of ${answered.size} answered requests ` +
                                      'have no record');
        const stats = await (await fetch(`${mock.url}/_mock/stats`)).json();
        // Every record of a proxied request matches a request the mock saw; requests cut by the
        // kill may have reached the mock without an answer (and without a record).
        const proxied = rows.filter((r) => r.provider === 'mock').length;
        assert.ok(proxied >= answered.size && proxied <= stats.requests,
                  `records ${proxied}, answered ${answered.size}, mock ${stats.requests}`);
        await assertNoCanaries(filesUnder(path.join(dir, 'out'), '.parquet'), [path.join(dir, 'out')]);
    });
});

// Starts build/mock-provider and build/switchboard on free 127.0.0.1 ports for the e2e tests.
//
// Binaries come from SB_MOCK_BIN and SB_SWITCHBOARD_BIN (ctest sets both); when unset, the
// defaults are build/mock-provider and build/switchboard in the repository. Each process must
// print its "... listening on 127.0.0.1:PORT" line within STARTUP_DEADLINE_MS, otherwise the
// start fails with the process's output in the error, never a hang. Set SB_E2E_VERBOSE=1 to
// copy both processes' output to stderr.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import OpenAI from 'openai';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

export const STARTUP_DEADLINE_MS = 10_000;
const STOP_DEADLINE_MS = 5_000;
const OUTPUT_KEEP_BYTES = 64 * 1024;

// The key the mock demands (--api-key) and the gateway's provider entry sends.
export const MOCK_API_KEY = 'sk-mock-test';
// What clients send to the gateway; the upstream must never see it.
export const CLIENT_API_KEY = 'client-key';

function binary(envName, fallback) {
    const file = process.env[envName] || path.join(repoRoot, 'build', fallback);
    if (!fs.existsSync(file)) {
        throw new Error(`${envName}: ${file} does not exist (build it with ./scripts/build.sh)`);
    }
    return file;
}

// Every child we started, so a crashed test file still leaves no process behind.
const live = new Set();
process.on('exit', () => {
    for (const child of live) {
        try {
            process.kill(child.pid, 'SIGKILL');
        } catch {
            // already gone
        }
    }
});

// A spawned server: keeps draining its output (a full pipe would block it) and remembers the
// tail for error messages.
class Server {
    constructor(name, file, args) {
        this.name = name;
        this.command = [file, ...args].join(' ');
        this.output = '';  // stdout and stderr interleaved, last OUTPUT_KEEP_BYTES
        this.stdout = '';  // stdout only, last OUTPUT_KEEP_BYTES
        this.exited = null;  // {code, signal} once the process is gone
        this.events = new EventEmitter();
        this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        this.pid = this.child.pid;
        live.add(this.child);
        this.exitPromise = new Promise((resolve) => {
            const gone = (status) => {
                if (this.exited) return;
                this.exited = status;
                live.delete(this.child);
                resolve(status);
            };
            this.child.on('exit', (code, signal) => gone({ code, signal }));
            this.child.on('error', (error) => gone({ code: null, signal: null, error }));
        });
        this.child.stdout.on('data', (data) => {
            const text = data.toString('utf8');
            this.stdout = (this.stdout + text).slice(-OUTPUT_KEEP_BYTES);
            this.record(text);
        });
        this.child.stderr.on('data', (data) => this.record(data.toString('utf8')));
    }

    record(text) {
        this.output = (this.output + text).slice(-OUTPUT_KEEP_BYTES);
        if (process.env.SB_E2E_VERBOSE) process.stderr.write(`[${this.name}] ${text}`);
        this.events.emit('output');
    }

    describe() {
        return `${this.name} (pid ${this.pid}): ${this.command}\n--- output ---\n${this.output}`;
    }

    // Resolves with the port from the first stdout line matching `pattern` (one capture group).
    waitForPort(pattern) {
        return new Promise((resolve, reject) => {
            let done = false;
            const finish = (err, port) => {
                if (done) return;
                done = true;
                clearTimeout(timer);
                this.events.off('output', check);
                if (err) reject(err);
                else resolve(port);
            };
            const check = () => {
                const m = this.stdout.match(pattern);
                if (m) finish(null, Number(m[1]));
            };
            const timer = setTimeout(() => {
                finish(new Error(`${this.name} did not print ${pattern} within ` +
                                 `${STARTUP_DEADLINE_MS} ms\n${this.describe()}`));
            }, STARTUP_DEADLINE_MS);
            this.events.on('output', check);
            this.exitPromise.then((status) => {
                const how = status.error ? `failed to start: ${status.error.message}`
                                         : `exited (code ${status.code}, signal ${status.signal})`;
                finish(new Error(`${this.name} ${how} before it was listening\n` +
                                 this.describe()));
            });
            check();
        });
    }

    // SIGTERM, then SIGKILL if the process has not exited within STOP_DEADLINE_MS.
    async stop() {
        if (this.exited) return this.exited;
        try {
            process.kill(this.pid, 'SIGTERM');
        } catch {
            // already gone
        }
        let timer;
        const deadline = new Promise((resolve) => {
            timer = setTimeout(() => resolve(null), STOP_DEADLINE_MS);
        });
        const status = await Promise.race([this.exitPromise, deadline]);
        clearTimeout(timer);
        if (status) return status;
        try {
            process.kill(this.pid, 'SIGKILL');
        } catch {
            // already gone
        }
        return this.exitPromise;
    }
}

// A Google service account for the Vertex provider: a fresh RSA key pair (OpenSSL, through
// node:crypto), the public key for the mock's token endpoint (--google-public-key) and, once the
// mock's port is known, the JSON key file the gateway reads (credentials_file).
export class ServiceAccount {
    constructor() {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-sa-'));
        const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
            modulusLength: 2048,
            publicKeyEncoding: { type: 'spki', format: 'pem' },
            privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        });
        this.privateKey = privateKey;
        this.publicKeyFile = path.join(this.dir, 'google-public.pem');
        fs.writeFileSync(this.publicKeyFile, publicKey);
        this.keyFile = path.join(this.dir, 'service-account.json');
    }

    writeKeyFile(tokenUri) {
        fs.writeFileSync(this.keyFile, JSON.stringify({
            type: 'service_account',
            project_id: 'my-project',
            private_key_id: 'e2e-key',
            private_key: this.privateKey,
            client_email: 'gateway@my-project.iam.gserviceaccount.com',
            token_uri: tokenUri,
        }));
        return this.keyFile;
    }

    remove() {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

// Starts the mock provider on a free port. Options: apiKey (default MOCK_API_KEY; null for none),
// googlePublicKey (a PEM file: the mock then issues OAuth tokens for Vertex).
export async function startMock({ apiKey = MOCK_API_KEY, googlePublicKey = null } = {}) {
    const args = ['--listen', '127.0.0.1:0'];
    if (apiKey) args.push('--api-key', apiKey);
    if (googlePublicKey) args.push('--google-public-key', googlePublicKey);
    const server = new Server('mock-provider', binary('SB_MOCK_BIN', 'mock-provider'), args);
    try {
        server.port = await server.waitForPort(/mock-provider listening on 127\.0\.0\.1:(\d+)/);
    } catch (err) {
        await server.stop();
        throw err;
    }
    server.url = `http://127.0.0.1:${server.port}`;
    return server;
}

// Providers whose wire format the gateway translates, each served by the mock in that format,
// with the models the conformance suite calls (`<prefix>-chat`, -tools, -429, -500, and
// -embed when the provider has embeddings). -throttled is a 429 without Retry-After: the
// gateway does not cool its target down, so every call reaches the provider.
function translatedModels(prefix, upstreamModel, embedModel = null) {
    const models = ['chat', 'tools;tool_call=1', '429;status=429;retry_after=7', '500;status=500',
                    'throttled;status=429']
        .map((m) => {
            const [name, ...controls] = m.split(';');
            const upstream = [upstreamModel, ...controls].join(';');
            return `  ${prefix}-${name}: {provider: ${prefix}, model: "${upstream}"}\n`;
        })
        .join('');
    const embed = `  ${prefix}-embed: {provider: ${prefix}, model: "${embedModel ?? upstreamModel}"}\n`;
    return models + embed;
}

export const TRANSLATED_PROVIDERS = [
    {
        // Not translated (same body as OpenAI), but addressed differently: the deployment is in
        // the URL with ?api-version, the key in `api-key`.
        name: 'azure',
        prefix: 'azure',
        provider: (port, key) =>
            `  azure: {type: azure, base_url: "http://127.0.0.1:${port}/openai", api_key: "${key}"}\n`,
        models: translatedModels('azure', 'my-gpt4o-deployment', 'my-embedding-deployment') +
            // Azure's content filter, played by the mock: the prompt refused (400), the answer cut.
            '  azure-filtered-prompt: {provider: azure, model: "my-gpt4o-deployment;content_filter=prompt"}\n' +
            '  azure-filtered-completion: {provider: azure, model: "my-gpt4o-deployment;content_filter=completion"}\n',
        embeddings: { arrays: true },
    },
    {
        name: 'anthropic',
        prefix: 'claude',
        provider: (port, key) =>
            `  claude: {type: anthropic, base_url: "http://127.0.0.1:${port}/v1", api_key: "${key}"}\n`,
        models: translatedModels('claude', 'claude-sonnet-4-5'),
        embeddings: null,  // Anthropic has no embeddings API: a 400 naming `model`
    },
    {
        name: 'gemini',
        prefix: 'gemini',
        provider: (port, key) =>
            `  gemini: {type: gemini, base_url: "http://127.0.0.1:${port}/v1beta", api_key: "${key}"}\n`,
        models: translatedModels('gemini', 'gemini-2.5-flash', 'text-embedding-004'),
        embeddings: { arrays: true },
    },
    {
        name: 'bedrock',
        prefix: 'bedrock',
        // SigV4-signed with test credentials (the mock checks the headers and payload hash).
        provider: (port) =>
            `  bedrock: {type: bedrock, base_url: "http://127.0.0.1:${port}", region: us-east-1, ` +
            `access_key_id: AKIDEXAMPLE, secret_access_key: wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY}\n`,
        models: translatedModels('bedrock', 'anthropic.claude-3-5-sonnet-20240620-v1:0',
                                 'amazon.titan-embed-text-v2:0'),
        // Titan embeds one input per call: an array of more is a 400 naming `input`.
        embeddings: { arrays: false },
    },
    {
        name: 'vertex',
        prefix: 'vertex',
        // OAuth: the gateway signs a JWT with the service account's key, the mock's /token
        // checks it and issues the bearer token the Vertex paths demand.
        provider: (port, key, { credentialsFile }) =>
            `  vertex: {type: vertex, base_url: "http://127.0.0.1:${port}", project: my-project, ` +
            `location: us-central1, credentials_file: "${credentialsFile}"}\n`,
        models: translatedModels('vertex', 'gemini-2.5-flash', 'text-embedding-005'),
        embeddings: { arrays: true },
    },
];

// The gateway config used by the tests: provider `mock` and the models the tests call.
export function gatewayConfig({ mockPort, providerApiKey = MOCK_API_KEY, credentialsFile }) {
    return `# written by tests/e2e/helpers.mjs
server: {listen: "127.0.0.1:0", workers: 1}
providers:
  mock: {type: openai-compatible, base_url: "http://127.0.0.1:${mockPort}/v1", api_key: "${providerApiKey}"}
${TRANSLATED_PROVIDERS.map((t) => t.provider(mockPort, providerApiKey, { credentialsFile })).join('')}models:
  mock-gpt: {provider: mock, model: gpt-4o-mini}
  mock-embed: {provider: mock, model: text-embedding-3-small}
  mock-429: {provider: mock, model: "gpt-4o-mini;status=429;retry_after=7"}
  mock-500: {provider: mock, model: "gpt-4o-mini;status=500"}
  mock-tools: {provider: mock, model: "gpt-4o-mini;tool_call=1"}
${TRANSLATED_PROVIDERS.map((t) => t.models).join('')}`;
}

// Starts the gateway on a free port with gatewayConfig(); the config lives in a temp directory
// removed by stop().
export async function startGateway({ mockPort, providerApiKey, credentialsFile } = {}) {
    const file = binary('SB_SWITCHBOARD_BIN', 'switchboard');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-'));
    const configFile = path.join(dir, 'config.yaml');
    fs.writeFileSync(configFile, gatewayConfig({ mockPort, providerApiKey, credentialsFile }));
    const server = new Server('switchboard', file,
                              ['gateway', '--config', configFile, '--workers', '1']);
    const stop = server.stop.bind(server);
    server.stop = async () => {
        const status = await stop();
        fs.rmSync(dir, { recursive: true, force: true });
        return status;
    };
    try {
        server.port = await server.waitForPort(/switchboard listening on 127\.0\.0\.1:(\d+)/);
    } catch (err) {
        await server.stop();
        throw err;
    }
    server.url = `http://127.0.0.1:${server.port}`;
    server.baseURL = `${server.url}/v1`;
    return server;
}

// Mock + gateway. Use from a before() hook and call stop() in after().
export async function startStack({ mockApiKey = MOCK_API_KEY, providerApiKey = MOCK_API_KEY } = {}) {
    const account = new ServiceAccount();
    let mock;
    try {
        mock = await startMock({ apiKey: mockApiKey, googlePublicKey: account.publicKeyFile });
    } catch (err) {
        account.remove();
        throw err;
    }
    let gateway;
    const credentialsFile = account.writeKeyFile(`${mock.url}/token`);
    try {
        gateway = await startGateway({ mockPort: mock.port, providerApiKey, credentialsFile });
    } catch (err) {
        await mock.stop();
        account.remove();
        throw err;
    }
    return {
        mock,
        gateway,
        baseURL: gateway.baseURL,
        credentialsFile,  // the Vertex provider's service-account key file, for more gateways
        // The official SDK as a user would configure it; no retries so errors surface as is.
        client(options = {}) {
            return new OpenAI({
                baseURL: gateway.baseURL,
                apiKey: CLIENT_API_KEY,
                maxRetries: 0,
                timeout: 15_000,
                ...options,
            });
        },
        // {headers, body, path} of the latest /v1 request the mock received.
        async lastUpstreamRequest() {
            const res = await fetch(`${mock.url}/_mock/last_request`);
            if (!res.ok) throw new Error(`GET /_mock/last_request: HTTP ${res.status}`);
            return res.json();
        },
        async stop() {
            await Promise.all([gateway.stop(), mock.stop()]);
            account.remove();
        },
    };
}

// Case-insensitive header lookup in a plain object.
export function header(headers, name) {
    const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : headers[key];
}

// The official Anthropic SDK reads what sb_inbound_anthropic writes (src/inbound/anthropic/).
//
// A local HTTP server on 127.0.0.1 (port 0) answers POST /v1/messages with the expected outputs
// of the golden cases in tests/golden/anthropic_inbound/ (the request's `model` names the case:
// "stream/<name>", "response/<name>", "error/<name>"), and @anthropic-ai/sdk parses them:
//   - every translated stream: messages.stream().finalMessage() gives the blocks, inputs,
//     stop_reason and usage the events carry; a stream ending in an error event rejects with
//     that error type;
//   - every translated message: messages.create() returns it unchanged;
//   - every refusal body: the SDK raises the error class for its status with our error type.
// No gateway binary is involved; the gateway's /v1/messages is tested in messages.test.mjs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import Anthropic from '@anthropic-ai/sdk';

const here = path.dirname(fileURLToPath(import.meta.url));
const goldenDir = path.resolve(here, '..', 'golden', 'anthropic_inbound');

function expectedFiles(kind, ext) {
    return fs
        .readdirSync(path.join(goldenDir, kind))
        .filter((f) => f.endsWith(`.expected.${ext}`))
        .sort()
        .map((f) => ({ name: f.slice(0, -`.expected.${ext}`.length), file: path.join(goldenDir, kind, f) }));
}

// A golden error file holds two pretty JSON objects: our Error (status, ...) and the Anthropic
// body the client gets.
function splitErrorFile(text) {
    const at = text.indexOf('}\n{');
    if (at < 0) {
        return null;
    }
    return { error: JSON.parse(text.slice(0, at + 2)), body: JSON.parse(text.slice(at + 2)) };
}

// The events of an SSE text, as {event, data} with data parsed.
function events(sse) {
    return sse
        .split('\n\n')
        .filter((chunk) => chunk.startsWith('event: '))
        .map((chunk) => {
            const [eventLine, dataLine] = chunk.split('\n');
            return { event: eventLine.slice(7), data: JSON.parse(dataLine.slice(6)) };
        });
}

let server;
let client;

before(async () => {
    server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
            const [kind, name] = JSON.parse(body).model.split('/');
            if (kind === 'stream') {
                const sse = fs.readFileSync(path.join(goldenDir, 'stream', `${name}.expected.sse`), 'utf8');
                res.writeHead(200, { 'content-type': 'text/event-stream' });
                // Only the events: the golden file's "# http status" note is for reviewers.
                res.end(sse.split('\n').filter((l) => !l.startsWith('#')).join('\n'));
            } else if (kind === 'response') {
                res.writeHead(200, { 'content-type': 'application/json' });
                res.end(fs.readFileSync(path.join(goldenDir, 'response', `${name}.expected.json`)));
            } else {
                const parts = splitErrorFile(
                    fs.readFileSync(path.join(goldenDir, 'request', `${name}.expected.json`), 'utf8'),
                );
                res.writeHead(parts.error.error.status, { 'content-type': 'application/json' });
                res.end(JSON.stringify(parts.body));
            }
        });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new Anthropic({
        apiKey: 'test-key',
        baseURL: `http://127.0.0.1:${server.address().port}`,
        maxRetries: 0,
        timeout: 10_000,
    });
});

after(() => new Promise((resolve) => server.close(resolve)));

const request = (model) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

describe('Anthropic SDK reads translated streams', () => {
    for (const { name, file } of expectedFiles('stream', 'sse')) {
        test(name, async () => {
            const evs = events(fs.readFileSync(file, 'utf8'));
            const errorEvent = evs.find((e) => e.event === 'error');
            const stream = client.messages.stream(request(`stream/${name}`));
            if (errorEvent) {
                await assert.rejects(stream.finalMessage(), (err) => {
                    assert.equal(err.error?.error?.type, errorEvent.data.error.type);
                    return true;
                });
                return;
            }
            const message = await stream.finalMessage();
            const starts = evs.filter((e) => e.event === 'content_block_start');
            assert.equal(message.content.length, starts.length);
            const delta = evs.find((e) => e.event === 'message_delta').data;
            assert.equal(message.stop_reason, delta.delta.stop_reason);
            assert.equal(message.stop_sequence, delta.delta.stop_sequence);
            assert.equal(message.usage.output_tokens, delta.usage.output_tokens);
            assert.equal(message.usage.input_tokens, delta.usage.input_tokens);
            starts.forEach((start, i) => {
                const block = message.content[i];
                assert.equal(block.type, start.data.content_block.type);
                const deltas = evs.filter((e) => e.event === 'content_block_delta' && e.data.index === i);
                if (block.type === 'text') {
                    assert.equal(block.text, deltas.map((d) => d.data.delta.text).join(''));
                } else if (block.type === 'thinking') {
                    assert.equal(block.thinking, deltas.map((d) => d.data.delta.thinking).join(''));
                } else if (block.type === 'tool_use' && message.stop_reason !== 'max_tokens') {
                    const json = deltas.map((d) => d.data.delta.partial_json).join('');
                    assert.deepEqual(block.input, json === '' ? {} : JSON.parse(json));
                    assert.equal(block.id, start.data.content_block.id);
                }
            });
        });
    }
});

describe('Anthropic SDK reads translated messages', () => {
    for (const { name, file } of expectedFiles('response', 'json')) {
        const text = fs.readFileSync(file, 'utf8');
        if (splitErrorFile(text)) {
            continue;  // an error case: the gateway answers it as an error, tested below
        }
        test(name, async () => {
            const message = await client.messages.create(request(`response/${name}`));
            assert.deepEqual(JSON.parse(JSON.stringify(message)), JSON.parse(text));
        });
    }
});

describe('Anthropic SDK raises typed errors for refusals', () => {
    for (const { name, file } of expectedFiles('request', 'json')) {
        const parts = splitErrorFile(fs.readFileSync(file, 'utf8'));
        if (!parts) {
            continue;
        }
        test(name, async () => {
            await assert.rejects(client.messages.create(request(`error/${name}`)), (err) => {
                assert.ok(err instanceof Anthropic.BadRequestError, `${err}`);
                assert.equal(err.status, parts.error.error.status);
                assert.equal(err.error.error.type, parts.body.error.type);
                assert.equal(err.error.error.message, parts.body.error.message);
                return true;
            });
        });
    }
});

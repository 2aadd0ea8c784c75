// Anthropic's Messages API end to end: the official @anthropic-ai/sdk against the gateway's
// /v1/messages, for every provider type the mock speaks (an Anthropic target natively, every
// other one translated): messages.create, messages.stream with text and with tool use,
// count_tokens, and typed errors.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import { CLIENT_API_KEY, TRANSLATED_PROVIDERS, startStack } from './helpers.mjs';

const TIMEOUT = { timeout: 30_000 };
const SYSTEM = 'You are terse.';
const MESSAGES = [{ role: 'user', content: 'What is the weather in Paris?' }];
const TOOL = {
    name: 'get_weather',
    description: 'Current weather for a city',
    input_schema: { type: 'object', properties: { location: { type: 'string' } } },
};

const TARGETS = [
    { name: 'openai-compatible', chat: 'mock-gpt', tools: 'mock-tools', e429: 'mock-429' },
    ...TRANSLATED_PROVIDERS.map((t) => ({
        name: t.name,
        chat: `${t.prefix}-chat`,
        tools: `${t.prefix}-tools`,
        e429: `${t.prefix}-429`,
    })),
];

let stack;
let client;
before(async () => {
    stack = await startStack();
    // The SDK sends the key as x-api-key and its own anthropic-version.
    client = new Anthropic({
        baseURL: stack.gateway.url,
        apiKey: CLIENT_API_KEY,
        maxRetries: 0,
        timeout: 15_000,
    });
});
after(async () => {
    await stack?.stop();
});

for (const target of TARGETS) {
    describe(`messages: ${target.name}`, () => {
        test('messages.create', TIMEOUT, async () => {
            // The client's API version and beta flags (as a user sets them per request).
            const headers = { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'tools-2024-05-16' };
            const m = await client.messages.create({
                model: target.chat, max_tokens: 256, system: SYSTEM, messages: MESSAGES,
            }, { headers });
            assert.equal(m.type, 'message');
            assert.equal(m.role, 'assistant');
            assert.ok(m.id.startsWith('msg_'));
            assert.equal(m.content[0].type, 'text');
            assert.ok(m.content[0].text.length > 0);
            assert.equal(m.stop_reason, 'end_turn');
            assert.ok(m.usage.input_tokens > 0);
            assert.ok(m.usage.output_tokens > 0);
            if (target.name === 'anthropic') {
                // Native passthrough: the client's anthropic-version reached the provider.
                const last = await stack.lastUpstreamRequest();
                assert.equal(last.path, '/v1/messages');
                assert.equal(last.headers['anthropic-version'], '2023-06-01');
                assert.equal(last.headers['anthropic-beta'], 'tools-2024-05-16');
                assert.notEqual(last.headers['x-api-key'], CLIENT_API_KEY);
            }
        });

        test('messages.stream with text', TIMEOUT, async () => {
            const stream = client.messages.stream({
                model: target.chat, max_tokens: 256, system: SYSTEM, messages: MESSAGES,
            });
            const events = [];
            let text = '';
            stream.on('streamEvent', (e) => events.push(e.type));
            stream.on('text', (delta) => (text += delta));
            const final = await stream.finalMessage();
            assert.equal(final.content[0].type, 'text');
            assert.equal(final.content[0].text, text);
            assert.ok(text.length > 0);
            assert.equal(final.stop_reason, 'end_turn');
            assert.ok(final.usage.output_tokens > 0);
            const kinds = events.filter((e) => e !== 'ping');
            assert.equal(kinds[0], 'message_start');
            assert.equal(kinds[1], 'content_block_start');
            assert.equal(kinds.at(-3), 'content_block_stop');
            assert.equal(kinds.at(-2), 'message_delta');
            assert.equal(kinds.at(-1), 'message_stop');
        });

        test('messages.create with tool use', TIMEOUT, async () => {
            const m = await client.messages.create({
                model: target.tools, max_tokens: 256, messages: MESSAGES, tools: [TOOL],
            });
            assert.equal(m.stop_reason, 'tool_use');
            const call = m.content.find((b) => b.type === 'tool_use');
            assert.ok(call, JSON.stringify(m));
            assert.equal(call.name, 'get_weather');
            assert.ok(call.id.length > 0);
            assert.deepEqual(call.input, { location: 'Paris' });
        });

        test('messages.stream with tool use', TIMEOUT, async () => {
            const stream = client.messages.stream({
                model: target.tools, max_tokens: 256, messages: MESSAGES, tools: [TOOL],
                tool_choice: { type: 'tool', name: 'get_weather' },
            });
            let json = '';
            stream.on('inputJson', (partial) => (json += partial));
            const final = await stream.finalMessage();
            assert.equal(final.stop_reason, 'tool_use');
            const call = final.content.find((b) => b.type === 'tool_use');
            assert.ok(call, JSON.stringify(final));
            assert.equal(call.name, 'get_weather');
            assert.deepEqual(call.input, { location: 'Paris' });
            assert.deepEqual(JSON.parse(json), { location: 'Paris' });
        });

        test('count_tokens', TIMEOUT, async () => {
            const r = await client.messages.countTokens({
                model: target.chat, system: SYSTEM, messages: MESSAGES, tools: [TOOL],
            });
            assert.equal(typeof r.input_tokens, 'number');
            assert.ok(r.input_tokens > 0);
        });

        test('typed errors', TIMEOUT, async () => {
            await assert.rejects(
                client.messages.create({ model: target.e429, max_tokens: 64, messages: MESSAGES }),
                (err) => err instanceof Anthropic.RateLimitError && err.status === 429 &&
                    err.type === 'rate_limit_error' && err.headers.get('retry-after') === '7');
            await assert.rejects(
                client.messages.create({ model: target.chat, max_tokens: -1, messages: MESSAGES }),
                (err) => err instanceof Anthropic.BadRequestError &&
                    err.type === 'invalid_request_error' && /max_tokens/.test(err.message));
        });
    });
}

describe('messages: gateway errors', () => {
    test('an unknown model is a NotFoundError', TIMEOUT, async () => {
        await assert.rejects(
            client.messages.create({ model: 'no-such-model', max_tokens: 64, messages: MESSAGES }),
            (err) => err instanceof Anthropic.NotFoundError && err.status === 404 &&
                err.type === 'not_found_error' && typeof err.requestID === 'string');
    });

    test('a parameter the target cannot take is a BadRequestError naming it', TIMEOUT, async () => {
        await assert.rejects(
            client.messages.create({
                model: 'mock-gpt', max_tokens: 64, messages: MESSAGES, top_k: 5,
            }),
            (err) => err instanceof Anthropic.BadRequestError && /top_k/.test(err.message));
    });
});

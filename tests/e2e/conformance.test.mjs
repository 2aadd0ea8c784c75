// One conformance suite, parameterised over every provider type the gateway serves, run end to
// end with the official OpenAI SDK against the mock speaking each provider's wire format.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';

import { CLIENT_API_KEY, TRANSLATED_PROVIDERS, startStack } from './helpers.mjs';

const TIMEOUT = { timeout: 30_000 };
const MESSAGES = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'What is the weather in Paris?' },
];
const TOOL = {
    type: 'function',
    function: {
        name: 'get_weather',
        description: 'Current weather for a city',
        parameters: { type: 'object', properties: { location: { type: 'string' } } },
    },
};

const TARGETS = [
    { name: 'openai-compatible', chat: 'mock-gpt', tools: 'mock-tools', e429: 'mock-429', e500: 'mock-500' },
    ...TRANSLATED_PROVIDERS.map((t) => ({
        name: t.name,
        chat: `${t.prefix}-chat`,
        tools: `${t.prefix}-tools`,
        e429: `${t.prefix}-429`,
        e500: `${t.prefix}-500`,
    })),
];

let stack;
let client;
before(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: stack.baseURL, apiKey: CLIENT_API_KEY, maxRetries: 0 });
});
after(async () => {
    await stack?.stop();
});

for (const target of TARGETS) {
    describe(`conformance: ${target.name}`, () => {
        test('chat completion', TIMEOUT, async () => {
            const r = await client.chat.completions.create({ model: target.chat, messages: MESSAGES });
            assert.equal(r.object, 'chat.completion');
            // Passthrough keeps the upstream's `model` byte for byte (OpenAI itself answers with
            // the dated snapshot name); translated answers carry the public name.
            assert.equal(typeof r.model, 'string');
            assert.equal(r.choices[0].finish_reason, 'stop');
            assert.ok(r.choices[0].message.content.length > 0);
            assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
        });

        test('streamed chat with usage', TIMEOUT, async () => {
            const stream = await client.chat.completions.create({
                model: target.chat,
                messages: MESSAGES,
                stream: true,
                stream_options: { include_usage: true },
            });
            let text = '';
            let finish = null;
            let usage = null;
            let first = true;
            for await (const chunk of stream) {
                if (chunk.usage) usage = chunk.usage;
                if (chunk.choices.length === 0) continue;
                if (first) {
                    assert.equal(chunk.choices[0].delta.role, 'assistant');
                    first = false;
                }
                text += chunk.choices[0].delta.content ?? '';
                finish = chunk.choices[0].finish_reason ?? finish;
            }
            assert.ok(text.length > 0);
            assert.equal(finish, 'stop');
            assert.ok(usage && usage.completion_tokens > 0);
        });

        test('tool call', TIMEOUT, async () => {
            const r = await client.chat.completions.create({
                model: target.tools, messages: MESSAGES, tools: [TOOL],
            });
            assert.equal(r.choices[0].finish_reason, 'tool_calls');
            const call = r.choices[0].message.tool_calls[0];
            assert.equal(call.type, 'function');
            assert.equal(call.function.name, 'get_weather');
            assert.ok(call.id.length > 0);
            assert.equal(typeof JSON.parse(call.function.arguments), 'object');
        });

        test('streamed tool call reassembles', TIMEOUT, async () => {
            const stream = client.chat.completions.stream({
                model: target.tools, messages: MESSAGES, tools: [TOOL],
            });
            const final = await stream.finalChatCompletion();
            assert.equal(final.choices[0].finish_reason, 'tool_calls');
            const call = final.choices[0].message.tool_calls[0];
            assert.equal(call.function.name, 'get_weather');
            assert.equal(typeof JSON.parse(call.function.arguments), 'object');
        });

        test('typed errors', TIMEOUT, async () => {
            await assert.rejects(
                client.chat.completions.create({ model: target.e429, messages: MESSAGES }),
                (err) => err instanceof OpenAI.RateLimitError && err.status === 429 &&
                    err.headers.get('retry-after') === '7');
            await assert.rejects(
                client.chat.completions.create({ model: target.e500, messages: MESSAGES }),
                (err) => err instanceof OpenAI.InternalServerError && err.status === 500);
        });
    });
}

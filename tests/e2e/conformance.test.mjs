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
    {
        name: 'openai-compatible', chat: 'mock-gpt', tools: 'mock-tools', e429: 'mock-429',
        e500: 'mock-500', embed: 'mock-embed', embeddings: { arrays: true },
    },
    ...TRANSLATED_PROVIDERS.map((t) => ({
        name: t.name,
        chat: `${t.prefix}-chat`,
        tools: `${t.prefix}-tools`,
        e429: `${t.prefix}-429`,
        e500: `${t.prefix}-500`,
        embed: `${t.prefix}-embed`,
        embeddings: t.embeddings,
    })),
];

// The mock embeds a text the same way whatever wire format it speaks, so every provider's answer
// must equal the OpenAI passthrough's for the same text and size (float32 values).
const EMBED_DIMENSIONS = 256;
async function referenceEmbedding(text) {
    const r = await client.embeddings.create({
        model: 'mock-embed', input: text, dimensions: EMBED_DIMENSIONS, encoding_format: 'float',
    });
    return r.data[0].embedding;
}

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

        test('embeddings', TIMEOUT, async () => {
            if (!target.embeddings) {
                await assert.rejects(
                    client.embeddings.create({ model: target.embed, input: 'hello world' }),
                    (err) => err instanceof OpenAI.BadRequestError && err.status === 400 &&
                        err.param === 'model');
                return;
            }
            const reference = await referenceEmbedding('hello world');
            // The SDK's default asks for base64 (little-endian float32) and decodes it.
            const b64 = await client.embeddings.create({
                model: target.embed, input: 'hello world', dimensions: EMBED_DIMENSIONS,
            });
            assert.equal(b64.object, 'list');
            assert.equal(b64.data.length, 1);
            assert.equal(b64.data[0].index, 0);
            assert.deepEqual(b64.data[0].embedding, reference.map(Math.fround));
            assert.equal(typeof b64.usage.prompt_tokens, 'number');
            const floats = await client.embeddings.create({
                model: target.embed, input: 'hello world', dimensions: EMBED_DIMENSIONS,
                encoding_format: 'float',
            });
            assert.deepEqual(floats.data[0].embedding, reference);

            const batch = () => client.embeddings.create({
                model: target.embed, input: ['first', 'second'], dimensions: EMBED_DIMENSIONS,
                encoding_format: 'float',
            });
            if (target.embeddings.arrays) {
                const r = await batch();
                assert.deepEqual(r.data.map((d) => d.index), [0, 1]);
                assert.deepEqual(r.data[0].embedding, await referenceEmbedding('first'));
                assert.deepEqual(r.data[1].embedding, await referenceEmbedding('second'));
            } else {
                await assert.rejects(batch(), (err) => err instanceof OpenAI.BadRequestError &&
                    err.status === 400 && err.param === 'input');
            }
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

describe('azure content filter', () => {
    test('a filtered prompt is a 400 content_filter error', TIMEOUT, async () => {
        await assert.rejects(
            client.chat.completions.create({ model: 'azure-filtered-prompt', messages: MESSAGES }),
            (err) => err instanceof OpenAI.BadRequestError && err.status === 400 &&
                err.code === 'content_filter' && err.param === 'prompt' &&
                /filtered categories: violence/.test(err.message));
    });

    test('a filtered answer keeps finish_reason and the filter results', TIMEOUT, async () => {
        const r = await client.chat.completions.create({
            model: 'azure-filtered-completion', messages: MESSAGES,
        });
        assert.equal(r.choices[0].finish_reason, 'content_filter');
        assert.equal(r.choices[0].content_filter_results.violence.filtered, true);
        assert.equal(r.prompt_filter_results[0].prompt_index, 0);
    });

    test('a filtered stream relays the filter results untouched', TIMEOUT, async () => {
        const stream = await client.chat.completions.create({
            model: 'azure-filtered-completion', messages: MESSAGES, stream: true,
        });
        let promptResults = null;
        let finish = null;
        let results = null;
        for await (const chunk of stream) {
            promptResults = chunk.prompt_filter_results ?? promptResults;
            for (const choice of chunk.choices) {
                finish = choice.finish_reason ?? finish;
                results = choice.content_filter_results ?? results;
            }
        }
        assert.equal(promptResults[0].prompt_index, 0);
        assert.equal(finish, 'content_filter');
        assert.equal(results.violence.filtered, true);
    });
});

describe('bedrock error types', () => {
    test('the x-amzn-ErrorType header names the exception', TIMEOUT, async () => {
        // Bedrock's error body is only {"message": ...}; the type is in the header.
        await assert.rejects(
            client.chat.completions.create({ model: 'bedrock-throttled', messages: MESSAGES }),
            (err) => err instanceof OpenAI.RateLimitError && err.type === 'ThrottlingException');
    });
});

describe('anthropic extended thinking with tools', () => {
    // With reasoning_effort the gateway enables Anthropic's thinking; the mock, like Anthropic,
    // then refuses a tool turn sent back without its signed thinking block. The client keeps
    // the assistant message it got (`thinking_blocks` included) and the conversation goes on.
    const ask = (extra = {}) => ({
        model: 'claude-tools', reasoning_effort: 'low', tools: [TOOL], ...extra,
    });
    const continued = (assistant) => [
        ...MESSAGES,
        assistant,
        { role: 'tool', tool_call_id: assistant.tool_calls[0].id, content: '18C' },
    ];

    test('the returned message sent back continues the conversation', TIMEOUT, async () => {
        const first = await client.chat.completions.create(ask({ messages: MESSAGES }));
        const message = first.choices[0].message;
        assert.equal(message.thinking_blocks.length, 1);
        assert.equal(message.thinking_blocks[0].type, 'thinking');
        assert.equal(message.thinking_blocks[0].thinking, message.reasoning_content);
        assert.ok(message.thinking_blocks[0].signature.length > 0);

        const second = await client.chat.completions.create(ask({ messages: continued(message) }));
        assert.equal(second.choices[0].message.tool_calls.length, 1);

        const { thinking_blocks: _dropped, ...withoutBlocks } = message;
        await assert.rejects(
            client.chat.completions.create(ask({ messages: continued(withoutBlocks) })),
            (err) => err instanceof OpenAI.BadRequestError &&
                /Expected `thinking` or `redacted_thinking`, but found `tool_use`/.test(err.message));
    });

    test('streamed thinking_blocks entries rebuild the message', TIMEOUT, async () => {
        const stream = await client.chat.completions.create(ask({ messages: MESSAGES, stream: true }));
        const message = { role: 'assistant', content: null, thinking_blocks: [], tool_calls: [] };
        for await (const chunk of stream) {
            const delta = chunk.choices[0]?.delta ?? {};
            message.thinking_blocks.push(...(delta.thinking_blocks ?? []));
            for (const call of delta.tool_calls ?? []) {
                if (call.id) {
                    message.tool_calls[call.index] = {
                        id: call.id, type: 'function', function: { name: call.function.name, arguments: '' },
                    };
                }
                message.tool_calls[call.index].function.arguments += call.function.arguments ?? '';
            }
        }
        assert.equal(message.thinking_blocks.length, 1);
        assert.ok(message.thinking_blocks[0].signature.length > 0);
        const second = await client.chat.completions.create(ask({ messages: continued(message) }));
        assert.equal(second.choices[0].finish_reason, 'tool_calls');
    });
});

// Chat completions through the gateway with the official OpenAI Node SDK.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { header, startStack } from './helpers.mjs';

const TIMEOUT = { timeout: 30_000 };
const MESSAGES = [{ role: 'user', content: 'Say hello to the end-to-end tests.' }];
const WEATHER_TOOL = {
    type: 'function',
    function: {
        name: 'get_weather',
        description: 'Current weather for a city',
        parameters: {
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
        },
    },
};

function assertUsage(usage) {
    assert.ok(usage, 'usage is present');
    for (const field of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
        assert.equal(typeof usage[field], 'number', `usage.${field} is a number`);
        assert.ok(Number.isInteger(usage[field]) && usage[field] >= 0, `usage.${field} >= 0`);
    }
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
}

function assertGatewayHeaders(headers) {
    const id = headers.get('x-request-id');
    assert.ok(id && id.length > 0, 'x-request-id header is present');
    const overhead = headers.get('x-switchboard-overhead-ms');
    assert.ok(overhead !== null, 'x-switchboard-overhead-ms header is present');
    assert.ok(Number.isFinite(Number(overhead)) && Number(overhead) >= 0,
              `x-switchboard-overhead-ms is a non-negative number, got ${overhead}`);
}

describe('chat completions', () => {
    let stack;
    let client;

    before(async () => {
        stack = await startStack();
        client = stack.client();
    }, TIMEOUT);

    after(async () => {
        await stack?.stop();
    });

    test('non-streaming returns a message, usage and the gateway headers', TIMEOUT, async () => {
        const { data, response } = await client.chat.completions
            .create({ model: 'mock-gpt', messages: MESSAGES })
            .withResponse();
        assert.equal(response.status, 200);
        assertGatewayHeaders(response.headers);
        assert.equal(data.object, 'chat.completion');
        assert.equal(data.choices.length, 1);
        const [choice] = data.choices;
        assert.equal(choice.message.role, 'assistant');
        assert.equal(typeof choice.message.content, 'string');
        assert.ok(choice.message.content.length > 0, 'content is not empty');
        assert.equal(choice.finish_reason, 'stop');
        assertUsage(data.usage);
    });

    test('the upstream gets the provider key and model, not the client key', TIMEOUT, async () => {
        await client.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES });
        const upstream = await stack.lastUpstreamRequest();
        assert.equal(upstream.path, '/v1/chat/completions');
        assert.equal(header(upstream.headers, 'authorization'), 'Bearer sk-mock-test');
        assert.equal(JSON.parse(upstream.body).model, 'gpt-4o-mini');
    });

    test('the request body is forwarded byte for byte except for model', TIMEOUT, async () => {
        // Unusual spacing, a number with a trailing zero, an escaped character and an unknown
        // field: a re-serialising gateway would change at least one of them.
        const rest = '"messages": [ {"role":"user","content":"caf\\u00e9 bytes"} ],' +
                     '  "temperature": 0.50, "x_vendor_field": {"kept": [1, 2.50, "three"]} }';
        const res = await fetch(`${stack.baseURL}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer client-key' },
            body: `{ "model": "mock-gpt",  ${rest}`,
        });
        assert.equal(res.status, 200, await res.clone().text());
        assertGatewayHeaders(res.headers);
        await res.json();
        const upstream = await stack.lastUpstreamRequest();
        assert.equal(upstream.body, `{ "model": "gpt-4o-mini",  ${rest}`);
    });

    test('streaming yields the role first, the same text, and finish_reason stop', TIMEOUT,
         async () => {
        const full = await client.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES });
        const expected = full.choices[0].message.content;

        const { data: stream, response } = await client.chat.completions
            .create({ model: 'mock-gpt', messages: MESSAGES, stream: true })
            .withResponse();
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
        assertGatewayHeaders(response.headers);

        const chunks = [];
        for await (const chunk of stream) chunks.push(chunk);
        assert.ok(chunks.length >= 2, `got ${chunks.length} chunks`);
        for (const chunk of chunks) assert.equal(chunk.object, 'chat.completion.chunk');
        assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'first delta carries the role');

        const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
        assert.equal(text, expected);
        const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
        assert.deepEqual(finishes, ['stop']);
        assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    });

    test('streaming with include_usage ends with a usage-only chunk', TIMEOUT, async () => {
        const stream = await client.chat.completions.create({
            model: 'mock-gpt',
            messages: MESSAGES,
            stream: true,
            stream_options: { include_usage: true },
        });
        const chunks = [];
        for await (const chunk of stream) chunks.push(chunk);
        const last = chunks.at(-1);
        assert.deepEqual(last.choices, []);
        assertUsage(last.usage);
        for (const chunk of chunks.slice(0, -1)) {
            assert.ok(chunk.usage === undefined || chunk.usage === null,
                      'only the last chunk carries usage');
        }
        assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
    });

    test('streamed tool calls assemble into JSON arguments', TIMEOUT, async () => {
        const stream = await client.chat.completions.create({
            model: 'mock-tools',
            messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
            tools: [WEATHER_TOOL],
            stream: true,
        });
        const calls = [];
        let finish = null;
        for await (const chunk of stream) {
            const choice = chunk.choices[0];
            if (!choice) continue;
            for (const delta of choice.delta?.tool_calls ?? []) {
                const call = (calls[delta.index] ??= { id: '', name: '', arguments: '' });
                if (delta.id) call.id = delta.id;
                if (delta.function?.name) call.name += delta.function.name;
                if (delta.function?.arguments) call.arguments += delta.function.arguments;
            }
            if (choice.finish_reason) finish = choice.finish_reason;
        }
        assert.equal(finish, 'tool_calls');
        assert.ok(calls.length >= 1, 'at least one tool call');
        for (const call of calls) {
            assert.ok(call.id.length > 0, 'tool call has an id');
            assert.ok(call.name.length > 0, 'tool call has a function name');
            const args = JSON.parse(call.arguments);
            assert.equal(typeof args, 'object');
            assert.ok(args !== null && !Array.isArray(args), 'arguments are a JSON object');
        }
    });

    test('non-streamed tool calls carry JSON arguments', TIMEOUT, async () => {
        const data = await client.chat.completions.create({
            model: 'mock-tools',
            messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
            tools: [WEATHER_TOOL],
        });
        const [choice] = data.choices;
        assert.equal(choice.finish_reason, 'tool_calls');
        assert.ok(choice.message.tool_calls.length >= 1);
        for (const call of choice.message.tool_calls) {
            assert.equal(call.type, 'function');
            assert.ok(call.id.length > 0);
            assert.ok(call.function.name.length > 0);
            const args = JSON.parse(call.function.arguments);
            assert.ok(args !== null && typeof args === 'object' && !Array.isArray(args));
        }
    });
});

// Completions, embeddings and model listing through the gateway with the official OpenAI SDK.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startStack } from './helpers.mjs';

const TIMEOUT = { timeout: 30_000 };
const INPUT = 'The food was delicious and the waiter was friendly.';

function assertVector(embedding) {
    assert.ok(Array.isArray(embedding), `embedding is an array, got ${typeof embedding}`);
    assert.ok(embedding.length > 0, 'embedding is not empty');
    for (const x of embedding) assert.ok(Number.isFinite(x), `finite number, got ${x}`);
}

describe('completions, embeddings, models', () => {
    let stack;
    let client;

    before(async () => {
        stack = await startStack();
        client = stack.client();
    }, TIMEOUT);

    after(async () => {
        await stack?.stop();
    });

    test('legacy completions return text and usage', TIMEOUT, async () => {
        const { data, response } = await client.completions
            .create({ model: 'mock-gpt', prompt: 'Say this is a test', max_tokens: 16 })
            .withResponse();
        assert.ok(response.headers.get('x-request-id'), 'x-request-id header is present');
        assert.equal(data.object, 'text_completion');
        assert.equal(typeof data.choices[0].text, 'string');
        assert.ok(data.choices[0].text.length > 0, 'text is not empty');
        assert.equal(typeof data.usage.prompt_tokens, 'number');
        assert.equal(typeof data.usage.completion_tokens, 'number');
        const upstream = await stack.lastUpstreamRequest();
        assert.equal(upstream.path, '/v1/completions');
        assert.equal(JSON.parse(upstream.body).model, 'gpt-4o-mini');
    });

    test('embeddings: the SDK default (base64) and encoding_format float agree', TIMEOUT,
         async () => {
        // Without encoding_format the SDK asks for base64 and decodes it to numbers.
        const { data: decoded, response } = await client.embeddings
            .create({ model: 'mock-embed', input: INPUT })
            .withResponse();
        assert.ok(response.headers.get('x-request-id'), 'x-request-id header is present');
        const upstream = await stack.lastUpstreamRequest();
        assert.equal(upstream.path, '/v1/embeddings');
        const sent = JSON.parse(upstream.body);
        assert.equal(sent.model, 'text-embedding-3-small');
        assert.equal(sent.encoding_format, 'base64');

        assert.equal(decoded.object, 'list');
        assert.equal(decoded.data.length, 1);
        assertVector(decoded.data[0].embedding);
        assert.equal(typeof decoded.usage.prompt_tokens, 'number');

        const floats = await client.embeddings.create({
            model: 'mock-embed',
            input: INPUT,
            encoding_format: 'float',
        });
        assertVector(floats.data[0].embedding);
        const a = decoded.data[0].embedding;
        const b = floats.data[0].embedding;
        assert.equal(a.length, b.length, 'both encodings have the same dimension');
        // base64 carries float32; the JSON floats are doubles of the same vector.
        for (let i = 0; i < a.length; i++) {
            assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * Math.max(1, Math.abs(b[i])),
                      `component ${i}: base64 ${a[i]} vs float ${b[i]}`);
        }
    });

    test('embeddings of a batch keep order and count', TIMEOUT, async () => {
        const res = await client.embeddings.create({
            model: 'mock-embed',
            input: ['first', 'second', 'third'],
            encoding_format: 'float',
        });
        assert.equal(res.data.length, 3);
        res.data.forEach((item, i) => {
            assert.equal(item.index, i);
            assertVector(item.embedding);
        });
        const dims = new Set(res.data.map((item) => item.embedding.length));
        assert.equal(dims.size, 1, 'all vectors have one dimension');
    });

    test('models.list includes the configured models', TIMEOUT, async () => {
        const ids = [];
        for await (const model of client.models.list()) ids.push(model.id);
        for (const id of ['mock-gpt', 'mock-embed', 'mock-tools']) {
            assert.ok(ids.includes(id), `${id} in ${JSON.stringify(ids)}`);
        }
    });
});

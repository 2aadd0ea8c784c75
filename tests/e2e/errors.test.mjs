// Errors through the gateway: the SDK must raise the same typed errors as against OpenAI.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';

import { MOCK_API_KEY, startGateway, startStack } from './helpers.mjs';

const TIMEOUT = { timeout: 30_000 };
const MESSAGES = [{ role: 'user', content: 'Hello' }];

// The error the mock itself returns for an upstream model string, to compare messages with.
async function upstreamError(stack, upstreamModel) {
    const res = await fetch(`${stack.mock.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${MOCK_API_KEY}` },
        body: JSON.stringify({ model: upstreamModel, messages: MESSAGES }),
    });
    const body = await res.json();
    assert.equal(typeof body?.error?.message, 'string', 'the mock returns an OpenAI error body');
    return { status: res.status, message: body.error.message };
}

// Runs `call`, which must reject with an OpenAI.APIError; returns the error.
async function apiError(call) {
    try {
        await call();
    } catch (err) {
        assert.ok(err instanceof OpenAI.APIError,
                  `expected an OpenAI.APIError, got ${err?.constructor?.name}: ${err?.message}`);
        assert.ok(err.headers?.get('x-request-id'), 'error response has x-request-id');
        assert.equal(typeof err.error?.message, 'string', 'error body has error.message');
        return err;
    }
    assert.fail('the request succeeded but an error was expected');
}

describe('errors', () => {
    let stack;
    let client;

    before(async () => {
        stack = await startStack();
        client = stack.client();
    }, TIMEOUT);

    after(async () => {
        await stack?.stop();
    });

    test('an unknown model is NotFoundError with code model_not_found', TIMEOUT, async () => {
        const err = await apiError(() =>
            client.chat.completions.create({ model: 'no-such-model', messages: MESSAGES }));
        assert.ok(err instanceof OpenAI.NotFoundError, err.constructor.name);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'model_not_found');
    });

    test('upstream 429 is RateLimitError with its message and retry-after', TIMEOUT, async () => {
        const upstream = await upstreamError(stack, 'gpt-4o-mini;status=429;retry_after=7');
        assert.equal(upstream.status, 429);
        const err = await apiError(() =>
            client.chat.completions.create({ model: 'mock-429', messages: MESSAGES }));
        assert.ok(err instanceof OpenAI.RateLimitError, err.constructor.name);
        assert.equal(err.status, 429);
        assert.equal(err.error.message, upstream.message);
        assert.equal(err.headers.get('retry-after'), '7');
    });

    test('upstream 500 is InternalServerError with its message', TIMEOUT, async () => {
        const upstream = await upstreamError(stack, 'gpt-4o-mini;status=500');
        assert.equal(upstream.status, 500);
        const err = await apiError(() =>
            client.chat.completions.create({ model: 'mock-500', messages: MESSAGES }));
        assert.ok(err instanceof OpenAI.InternalServerError, err.constructor.name);
        assert.equal(err.status, 500);
        assert.equal(err.error.message, upstream.message);
    });

    test('an upstream error before a stream starts keeps its status', TIMEOUT, async () => {
        const err = await apiError(async () => {
            const stream = await client.chat.completions.create({
                model: 'mock-429',
                messages: MESSAGES,
                stream: true,
            });
            for await (const chunk of stream) void chunk;
        });
        assert.ok(err instanceof OpenAI.RateLimitError, err.constructor.name);
        assert.equal(err.status, 429);
    });

    test('an upstream rejecting the gateway key is 502, not 401', TIMEOUT, async () => {
        const gateway = await startGateway({ mockPort: stack.mock.port,
                                             providerApiKey: 'sk-wrong-key',
                                             credentialsFile: stack.credentialsFile });
        try {
            const wrong = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key',
                                       maxRetries: 0, timeout: 15_000 });
            const err = await apiError(() =>
                wrong.chat.completions.create({ model: 'mock-gpt', messages: MESSAGES }));
            assert.equal(err.status, 502);
            assert.ok(!(err instanceof OpenAI.AuthenticationError));
        } finally {
            await gateway.stop();
        }
    });
});

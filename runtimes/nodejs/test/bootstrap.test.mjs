// Tests for the Node.js bootstrap: each test writes a function's code into a temporary
// directory, serves a fake Runtime API on an ephemeral port, starts `node bootstrap.mjs`
// against it and checks what the fake API received.
//
// Run with: node --test runtimes/nodejs/test/

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BOOTSTRAP = fileURLToPath(new URL('../bootstrap.mjs', import.meta.url));
const API = '/2018-06-01/runtime';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:fn';

/**
 * Runs the bootstrap on `files` with `handler`, delivering `invokes` in order.
 * An invoke is `{ event, body, headers, timeoutMs }`; `headers` override the defaults, and
 * a header set to undefined is left out.
 * Resolves once every invoke is settled and the runtime asks for the next one (`idle`),
 * or once the runtime exits.
 */
async function run({ files, handler, invokes = [], env = {}, timeoutMs = 15000 }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alcove-nodejs-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }

  const queue = invokes.map((invoke, i) => ({ id: `req-${i + 1}`, ...invoke }));
  const result = { initErrors: [], settled: [], delivered: {}, nextCalls: 0 };
  const parked = [];
  let changed = () => {};

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const errorType = req.headers['lambda-runtime-function-error-type'];
      let match;
      if (req.method === 'GET' && req.url === `${API}/invocation/next`) {
        result.nextCalls++;
        const invoke = queue.shift();
        if (!invoke) {
          parked.push(res);
          changed();
          return;
        }
        const headers = {
          'content-type': 'application/json',
          'lambda-runtime-aws-request-id': invoke.id,
          'lambda-runtime-deadline-ms': String(Date.now() + (invoke.timeoutMs ?? 30000)),
          'lambda-runtime-invoked-function-arn': FUNCTION_ARN,
          'lambda-runtime-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
          ...invoke.headers,
        };
        for (const name of Object.keys(headers)) if (headers[name] === undefined) delete headers[name];
        result.delivered[invoke.id] = Date.now();
        res.writeHead(200, headers);
        res.end(invoke.body ?? JSON.stringify(invoke.event ?? {}));
      } else if (req.method === 'POST' && (match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(req.url))) {
        result.settled.push({
          id: decodeURIComponent(match[1]),
          kind: match[2],
          errorType,
          contentType: req.headers['content-type'],
          body,
          at: Date.now(),
        });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"status":"OK"}');
        changed();
      } else if (req.method === 'POST' && req.url === `${API}/init/error`) {
        result.initErrors.push({ errorType, body: JSON.parse(body) });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"status":"OK"}');
        changed();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  const child = spawn(process.execPath, [BOOTSTRAP], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}`,
      _HANDLER: handler,
      LAMBDA_TASK_ROOT: dir,
      AWS_LAMBDA_FUNCTION_NAME: 'fn',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fn',
      AWS_LAMBDA_LOG_STREAM_NAME: '2025/01/01/[$LATEST]0123456789abcdef',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));

  let exit = null;
  let timer;
  await new Promise((resolve) => {
    changed = () => {
      if (result.settled.length >= invokes.length && parked.length > 0) resolve();
    };
    exited.then((status) => {
      exit = status;
      resolve();
    });
    timer = setTimeout(resolve, timeoutMs);
  });
  clearTimeout(timer);
  const idle = exit === null && parked.length > 0 && result.settled.length >= invokes.length;
  if (exit === null) {
    child.kill('SIGKILL');
    await exited;
  }
  for (const res of parked) res.destroy();
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });

  return { ...result, idle, exitCode: exit ? exit.code : null, stdout, stderr };
}

const json = (settled) => JSON.parse(settled.body);

function assertResponses(result, expected) {
  assert.deepEqual(
    result.settled.map((s) => s.kind),
    expected.map(() => 'response'),
    `unexpected outcomes: ${JSON.stringify(result.settled)}\n${result.stdout}${result.stderr}`,
  );
  assert.deepEqual(result.settled.map(json), expected);
}

test('ESM handler keeps module state between invokes and sees the tenant id', async () => {
  const result = await run({
    files: {
      'index.mjs': `let counter = 0;
export const handler = async (event, context) => ({ counter: counter++, tenantId: context.tenantId });
`,
    },
    handler: 'index.handler',
    invokes: [1, 2, 3].map(() => ({ headers: { 'lambda-runtime-aws-tenant-id': 'BlueTenant' } })),
  });
  assertResponses(result, [
    { counter: 0, tenantId: 'BlueTenant' },
    { counter: 1, tenantId: 'BlueTenant' },
    { counter: 2, tenantId: 'BlueTenant' },
  ]);
  assert.deepEqual(result.settled.map((s) => s.id), ['req-1', 'req-2', 'req-3']);
  assert.equal(result.settled[0].contentType, 'application/json');
  assert.ok(result.idle, 'the runtime waits for the next invoke');
});

test('context: tenantId undefined without the header, clientContext and identity parsed, environment data', async () => {
  const result = await run({
    files: {
      'index.mjs': `export const handler = async (event, context) => ({
  hasTenantKey: 'tenantId' in context,
  tenantIdType: typeof context.tenantId,
  clientContext: context.clientContext,
  identity: context.identity,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  invokedFunctionArn: context.invokedFunctionArn,
  awsRequestId: context.awsRequestId,
  callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
  legacy: [typeof context.done, typeof context.succeed, typeof context.fail],
});
`,
    },
    handler: 'index.handler',
    invokes: [
      {
        headers: {
          'lambda-runtime-client-context': JSON.stringify({ client: { app_title: 'demo' }, custom: { k: 'v' } }),
          'lambda-runtime-cognito-identity': JSON.stringify({ cognitoIdentityId: 'id-1', cognitoIdentityPoolId: 'pool-1' }),
        },
      },
    ],
  });
  assertResponses(result, [
    {
      hasTenantKey: true,
      tenantIdType: 'undefined',
      clientContext: { client: { app_title: 'demo' }, custom: { k: 'v' } },
      identity: { cognitoIdentityId: 'id-1', cognitoIdentityPoolId: 'pool-1' },
      functionName: 'fn',
      functionVersion: '$LATEST',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/fn',
      logStreamName: '2025/01/01/[$LATEST]0123456789abcdef',
      invokedFunctionArn: FUNCTION_ARN,
      awsRequestId: 'req-1',
      callbackWaitsForEmptyEventLoop: true,
      legacy: ['function', 'function', 'function'],
    },
  ]);
});

test('getRemainingTimeInMillis counts down to the deadline header', async () => {
  const result = await run({
    files: { 'index.mjs': 'export const handler = async (event, context) => context.getRemainingTimeInMillis();\n' },
    handler: 'index.handler',
    invokes: [{ timeoutMs: 5000 }],
  });
  const remaining = json(result.settled[0]);
  assert.ok(remaining > 3000 && remaining <= 5000, `remaining ${remaining}`);
});

test('events can be any JSON value', async () => {
  const result = await run({
    files: { 'index.mjs': 'export const handler = async (event) => ({ type: typeof event, event });\n' },
    handler: 'index.handler',
    invokes: [{ body: '"text"' }, { body: '[1,2]' }, { body: 'null' }, { body: '7' }],
  });
  assertResponses(result, [
    { type: 'string', event: 'text' },
    { type: 'object', event: [1, 2] },
    { type: 'object', event: null },
    { type: 'number', event: 7 },
  ]);
});

test('CommonJS .js handler in callback style', async () => {
  const result = await run({
    files: {
      'index.js': `exports.handler = function (event, context, callback) {
  setTimeout(() => callback(null, { echo: event, arn: context.invokedFunctionArn }), 20);
};
`,
    },
    handler: 'index.handler',
    invokes: [{ event: { a: 1 } }, { event: { b: 2 } }],
  });
  assertResponses(result, [
    { echo: { a: 1 }, arn: FUNCTION_ARN },
    { echo: { b: 2 }, arn: FUNCTION_ARN },
  ]);
});

test('a callback result waits for the empty event loop unless callbackWaitsForEmptyEventLoop is false', async () => {
  const result = await run({
    files: {
      'index.js': `exports.handler = (event, context, callback) => {
  if (event.dontWait) context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {}, event.delay);
  callback(null, { ok: true });
};
`,
    },
    handler: 'index.handler',
    invokes: [{ event: { delay: 400 } }, { event: { delay: 3000, dontWait: true } }],
  });
  assertResponses(result, [{ ok: true }, { ok: true }]);
  const elapsed = result.settled.map((s) => s.at - result.delivered[s.id]);
  assert.ok(elapsed[0] >= 350, `waited ${elapsed[0]} ms for the pending timer`);
  assert.ok(elapsed[1] < 1500, `answered after ${elapsed[1]} ms without waiting`);
});

test('callback errors and legacy context.succeed / fail / done', async () => {
  const result = await run({
    files: {
      'index.js': `exports.handler = (event, context, callback) => {
  if (event.m === 'succeed') context.succeed({ via: 'succeed' });
  if (event.m === 'done') context.done(null, { via: 'done' });
  if (event.m === 'fail') context.fail(new RangeError('failed'));
  if (event.m === 'callback-error') callback('plain failure');
  if (event.m === 'twice') { callback(null, 'first'); callback(null, 'second'); }
};
`,
    },
    handler: 'index.handler',
    invokes: ['succeed', 'done', 'fail', 'callback-error', 'twice'].map((m) => ({ event: { m } })),
  });
  const [succeed, done, fail, callbackError, twice] = result.settled;
  assert.deepEqual(json(succeed), { via: 'succeed' });
  assert.deepEqual(json(done), { via: 'done' });
  assert.equal(fail.kind, 'error');
  assert.equal(fail.errorType, 'RangeError');
  assert.equal(json(fail).errorMessage, 'failed');
  assert.equal(callbackError.kind, 'error');
  assert.deepEqual(json(callbackError), { errorType: 'string', errorMessage: 'plain failure', trace: [] });
  assert.equal(twice.body, '"first"');
  assert.equal(result.settled.length, 5);
});

test('a non-async handler that returns a value answers null (nodejs22.x model)', async () => {
  const result = await run({
    files: { 'index.js': 'exports.handler = (event) => ({ sync: true });\n' },
    handler: 'index.handler',
    invokes: [{}],
    env: { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' },
  });
  assert.equal(result.settled[0].kind, 'response');
  assert.equal(result.settled[0].body, 'null');
});

test('nodejs24.x model: return values of sync handlers count, callback handlers are refused', async () => {
  const sync = await run({
    files: { 'index.js': 'exports.handler = (event, context) => ({ sync: true, done: typeof context.done });\n' },
    handler: 'index.handler',
    invokes: [{}],
    env: { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' },
  });
  assertResponses(sync, [{ sync: true, done: 'undefined' }]);

  const callback = await run({
    files: { 'index.js': 'exports.handler = (event, context, callback) => callback(null, 1);\n' },
    handler: 'index.handler',
    env: { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' },
  });
  assert.equal(callback.initErrors[0].errorType, 'Runtime.CallbackHandlerDeprecated');
  assert.match(callback.initErrors[0].body.errorMessage, /removed support for callback-based function handlers/);
  assert.equal(callback.exitCode, 129);
});

test('.cjs handler', async () => {
  const result = await run({
    files: { 'index.cjs': 'module.exports.handler = async (event) => ({ kind: typeof require, n: event.n * 2 });\n' },
    handler: 'index.handler',
    invokes: [{ event: { n: 21 } }],
  });
  assertResponses(result, [{ kind: 'function', n: 42 }]);
});

test('a .js handler is an ES module under package.json "type": "module", with top-level await', async () => {
  const result = await run({
    files: {
      'package.json': '{ "type": "module" }',
      'index.js': `const loaded = await Promise.resolve('awaited at load');
export const handler = async () => ({ requireType: typeof require, loaded });
`,
    },
    handler: 'index.handler',
    invokes: [{}],
  });
  assertResponses(result, [{ requireType: 'undefined', loaded: 'awaited at load' }]);
});

test('handler in a subdirectory, and a nested property path', async () => {
  const subdir = await run({
    files: { 'lib/app.js': "exports.handler = async () => 'from lib/app';\n" },
    handler: 'lib/app.handler',
    invokes: [{}],
  });
  assertResponses(subdir, ['from lib/app']);

  const nested = await run({
    files: { 'src/mod.mjs': "export const nested = { fn: async () => 'from nested.fn' };\n" },
    handler: 'src/mod.nested.fn',
    invokes: [{}],
  });
  assertResponses(nested, ['from nested.fn']);
});

test('a module from node_modules', async () => {
  const result = await run({
    files: { 'node_modules/mypkg/index.js': "exports.handler = async () => 'from node_modules';\n" },
    handler: 'mypkg.handler',
    invokes: [{}],
  });
  assertResponses(result, ['from node_modules']);
});

test('a thrown Error is posted to /error with its type, and the runtime carries on', async () => {
  const result = await run({
    files: {
      'index.mjs': `class ValidationError extends Error {
  constructor(message) { super(message); this.name = 'ValidationError'; }
}
export const handler = async (event) => {
  if (event.fail) throw new ValidationError('bad input');
  return 'fine';
};
`,
    },
    handler: 'index.handler',
    invokes: [{ event: { fail: true } }, {}],
  });
  const [failed, ok] = result.settled;
  assert.equal(failed.kind, 'error');
  assert.equal(failed.errorType, 'ValidationError');
  const body = json(failed);
  assert.equal(body.errorType, 'ValidationError');
  assert.equal(body.errorMessage, 'bad input');
  assert.ok(Array.isArray(body.trace) && body.trace.length > 1);
  assert.equal(body.trace[0], 'ValidationError: bad input');
  assert.match(body.trace[1], /^\s+at /);
  assert.equal(ok.kind, 'response');
  assert.equal(ok.body, '"fine"');
  assert.match(result.stdout, /\treq-1\tERROR\tInvoke Error \t\{"errorType":"ValidationError","errorMessage":"bad input"/);
});

test('a promise rejected with a string', async () => {
  const result = await run({
    files: { 'index.mjs': "export const handler = () => Promise.reject('plain string');\n" },
    handler: 'index.handler',
    invokes: [{}],
  });
  assert.equal(result.settled[0].kind, 'error');
  assert.equal(result.settled[0].errorType, 'string');
  assert.deepEqual(json(result.settled[0]), { errorType: 'string', errorMessage: 'plain string', trace: [] });
});

test('a result that cannot be serialised fails the invoke', async () => {
  const result = await run({
    files: { 'index.mjs': 'export const handler = async () => ({ big: 1n });\n' },
    handler: 'index.handler',
    invokes: [{}, {}],
  });
  assert.deepEqual(result.settled.map((s) => s.kind), ['error', 'error']);
  assert.equal(json(result.settled[0]).errorMessage, 'Unable to stringify response body');
});

test('missing module: Runtime.ImportModuleError on /init/error, exit code 129', async () => {
  const result = await run({ files: { 'other.js': '' }, handler: 'index.handler' });
  assert.equal(result.initErrors.length, 1);
  const [{ errorType, body }] = result.initErrors;
  assert.equal(errorType, 'Runtime.ImportModuleError');
  assert.equal(body.errorType, 'Runtime.ImportModuleError');
  assert.match(body.errorMessage, /^Error: Cannot find module 'index'/);
  assert.match(body.trace[0], /^Runtime\.ImportModuleError: Error: Cannot find module 'index'/);
  assert.equal(result.exitCode, 129);
  assert.equal(result.nextCalls, 0);
  assert.match(result.stdout, /\tundefined\tERROR\tUncaught Exception \t\{"errorType":"Runtime.ImportModuleError"/);
});

test('missing export: Runtime.HandlerNotFound', async () => {
  const missing = await run({ files: { 'index.mjs': 'export const other = 1;\n' }, handler: 'index.handler' });
  assert.equal(missing.initErrors[0].errorType, 'Runtime.HandlerNotFound');
  assert.equal(missing.initErrors[0].body.errorMessage, 'index.handler is undefined or not exported');
  assert.equal(missing.exitCode, 129);

  const notFunction = await run({ files: { 'index.mjs': 'export const handler = 42;\n' }, handler: 'index.handler' });
  assert.equal(notFunction.initErrors[0].errorType, 'Runtime.HandlerNotFound');
  assert.equal(notFunction.initErrors[0].body.errorMessage, 'index.handler is not a function');
});

test('malformed handler names: Runtime.MalformedHandlerName', async () => {
  const noDot = await run({ files: { 'index.mjs': 'export const handler = 1;\n' }, handler: 'index' });
  assert.equal(noDot.initErrors[0].errorType, 'Runtime.MalformedHandlerName');
  assert.equal(noDot.initErrors[0].body.errorMessage, 'Bad handler');

  const upward = await run({ files: { 'index.mjs': '' }, handler: '../index.handler' });
  assert.equal(upward.initErrors[0].errorType, 'Runtime.MalformedHandlerName');
  assert.match(upward.initErrors[0].body.errorMessage, /is not a valid handler name/);
});

test('an exception at module top level is the init error, with its own type', async () => {
  const thrown = await run({ files: { 'index.js': "throw new TypeError('boom at load');\n" }, handler: 'index.handler' });
  assert.equal(thrown.initErrors[0].errorType, 'TypeError');
  assert.equal(thrown.initErrors[0].body.errorMessage, 'boom at load');
  assert.equal(thrown.exitCode, 129);

  const syntax = await run({ files: { 'index.mjs': 'export const handler = async () => {\n' }, handler: 'index.handler' });
  assert.equal(syntax.initErrors[0].errorType, 'Runtime.UserCodeSyntaxError');
  assert.match(syntax.initErrors[0].body.errorMessage, /^SyntaxError: /);
});

test('an async handler whose promise can never settle fails with Runtime.NodeJsExit', async () => {
  const result = await run({
    files: {
      'index.mjs': `export const handler = async (event) => {
  if (event.hang) await new Promise(() => {});
  return 'after';
};
`,
    },
    handler: 'index.handler',
    invokes: [{ event: { hang: true } }, {}],
  });
  assert.equal(result.settled[0].kind, 'error');
  assert.equal(result.settled[0].errorType, 'Runtime.NodeJsExit');
  assert.equal(result.settled[1].body, '"after"');
});

test('an uncaught exception during an invoke fails it and ends the runtime with 129', async () => {
  const result = await run({
    files: {
      'index.mjs': `export const handler = async () => {
  setTimeout(() => { throw new Error('late boom'); }, 10);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return 'never';
};
`,
    },
    handler: 'index.handler',
    invokes: [{}],
  });
  assert.equal(result.settled.length, 1);
  assert.equal(result.settled[0].kind, 'error');
  assert.equal(result.settled[0].errorType, 'Error');
  assert.equal(json(result.settled[0]).errorMessage, 'late boom');
  assert.equal(result.exitCode, 129);
});

test('an unhandled rejection during an invoke is Runtime.UnhandledPromiseRejection, exit code 128', async () => {
  const result = await run({
    files: {
      'index.mjs': `export const handler = async () => {
  Promise.reject(new Error('forgotten'));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return 'never';
};
`,
    },
    handler: 'index.handler',
    invokes: [{}],
  });
  assert.equal(result.settled[0].errorType, 'Runtime.UnhandledPromiseRejection');
  assert.equal(json(result.settled[0]).errorMessage, 'Error: forgotten');
  assert.equal(result.exitCode, 128);
});

test('_X_AMZN_TRACE_ID follows the trace header of each invoke', async () => {
  const result = await run({
    files: { 'index.mjs': 'export const handler = async () => process.env._X_AMZN_TRACE_ID ?? null;\n' },
    handler: 'index.handler',
    invokes: [{ headers: { 'lambda-runtime-trace-id': 'Root=1-abc' } }, { headers: { 'lambda-runtime-trace-id': undefined } }],
  });
  assertResponses(result, ['Root=1-abc', null]);
});

test('console output uses the Lambda text format on stdout', async () => {
  const result = await run({
    files: {
      'index.mjs': `console.log('at init');
export const handler = async () => {
  console.log('hello %s', 'world');
  console.error('multi\\nline');
  console.warn({ a: 1 });
  console.debug('debug');
  console.trace('trace');
  return 1;
};
`,
    },
    handler: 'index.handler',
    invokes: [{}],
  });
  const lines = result.stdout.split('\n').filter(Boolean);
  const stamp = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
  const expected = [
    `undefined\tINFO\tat init`,
    `req-1\tINFO\thello world`,
    `req-1\tERROR\tmulti\rline`,
    `req-1\tWARN\t{ a: 1 }`,
    `req-1\tDEBUG\tdebug`,
    `req-1\tTRACE\ttrace`,
  ];
  assert.equal(lines.length, expected.length, result.stdout);
  lines.forEach((line, i) => {
    assert.match(line, new RegExp(`^${stamp}\\t`));
    assert.equal(line.slice(25), expected[i]);
  });
});

test('AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL', async () => {
  const result = await run({
    files: {
      'index.mjs': `export const handler = async () => {
  console.info('filtered out');
  console.warn('kept', 1);
  return 1;
};
`,
    },
    handler: 'index.handler',
    invokes: [{ headers: { 'lambda-runtime-aws-tenant-id': 'GreenTenant' } }],
    env: { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'WARN' },
  });
  const records = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  assert.equal(records.length, 1, result.stdout);
  assert.equal(records[0].level, 'WARN');
  assert.equal(records[0].requestId, 'req-1');
  assert.equal(records[0].tenantId, 'GreenTenant');
  assert.equal(records[0].message, 'kept 1');
});

test('awslambda.streamifyResponse handlers: what they write is the response', async () => {
  const result = await run({
    files: {
      'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType('text/plain');
  responseStream.write('hello ');
  await new Promise((resolve) => setTimeout(resolve, 10));
  responseStream.end(context.awsRequestId);
});
`,
    },
    handler: 'index.handler',
    invokes: [{}, {}],
  });
  assert.deepEqual(result.settled.map((s) => [s.kind, s.body, s.contentType]), [
    ['response', 'hello req-1', 'text/plain'],
    ['response', 'hello req-2', 'text/plain'],
  ]);
});

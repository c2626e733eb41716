#!/usr/bin/env node
/**
 * Alcove's runtime for `nodejs*` functions: the Lambda Node.js programming model on top of
 * the Lambda Runtime API.
 *
 * Why this file exists
 * --------------------
 * AWS publishes its Node.js runtime interface client as the npm package `aws-lambda-ric`.
 * Its current release (4.x) requires Node.js >= 22 and compiles a native HTTP client
 * (curl and aws-lambda-cpp, built with cmake) when it is installed. Alcove runs functions
 * on whatever `node` the host has, from Node.js 18 upwards, and must not need a compiler,
 * so it ships this single dependency-free file instead: only `node:` built-ins, no native
 * code, no npm install. The server embeds it and starts it as `node bootstrap.mjs` with the
 * function's code directory as working directory.
 *
 * Behaviour
 * ---------
 * The observable behaviour (handler resolution, error types and messages, payload formats,
 * log line format, exit codes) follows the official client. There are two generations of
 * the official programming model, and the runtime identifier picks one, through
 * `AWS_EXECUTION_ENV` (`AWS_Lambda_nodejs22.x`, ...):
 *
 * - nodejs18.x, nodejs20.x, nodejs22.x (and anything unrecognised) get the model of
 *   `aws-lambda-ric` 3.x, which is what AWS runs for those runtimes: handlers may be async
 *   (the resolved value is the result) or take a callback `(event, context, callback)`;
 *   `context.callbackWaitsForEmptyEventLoop` (default true) makes a callback result wait
 *   until the event loop is empty; `context.done/succeed/fail` exist; a non-async handler
 *   that never calls back answers `null` once the event loop drains.
 * - nodejs24.x and later get the model of `aws-lambda-ric` 4.x: a handler taking three or
 *   more parameters is refused at init with `Runtime.CallbackHandlerDeprecated`, the
 *   handler is called as `handler(event, context)` and whatever it returns (a value or a
 *   promise) is the result.
 *
 * Deliberately not implemented: the platform telemetry log descriptor
 * (`_LAMBDA_TELEMETRY_LOG_FD`; logs go to stdout, which the server captures), the X-Ray
 * error-cause header and multi-concurrency (`AWS_LAMBDA_MAX_CONCURRENCY`).
 *
 * A handler wrapped with `awslambda.streamifyResponse` streams as on AWS: the response is
 * one `POST .../response` with `Lambda-Runtime-Function-Response-Mode: streaming` and a
 * chunked body, opened at the first write (until then `setContentType` may change the
 * content type), each write sent as it is made and subject to the connection's
 * backpressure; an error after the first write ends the body with the trailers
 * `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` (base64 of
 * the error document), an error before it is posted to `/error`.
 */

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

const API_VERSION = '/2018-06-01';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY_TRAILER = 'Lambda-Runtime-Function-Error-Body';
const RESPONSE_MODE_HEADER = 'Lambda-Runtime-Function-Response-Mode';

/** The major Node.js runtime version named by `AWS_EXECUTION_ENV`, or 0. */
const RUNTIME_MAJOR = (() => {
  const match = /^AWS_Lambda_nodejs(\d+)/.exec(process.env.AWS_EXECUTION_ENV || '');
  return match ? Number(match[1]) : 0;
})();
/** nodejs24.x and later: no callback handlers, the handler's return value is the result. */
const CALLBACKLESS_MODEL = RUNTIME_MAJOR >= 24;

const CALLBACK_HANDLER_REMOVED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
  'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
  'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class MalformedStreamingHandler extends Error {}
class InvalidStreamingOperation extends Error {}
class CallbackHandlerDeprecated extends Error {}
class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly ' +
        'caused by a Promise that was never settled. For more information, see ' +
        'https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(safeString(reason));
    this.reason = reason;
    this.promise = promise;
  }
}
// As in the official client, the type shows up as e.g. `Runtime.ImportModuleError`, both in
// `error.name` and in the first line of the stack.
for (const ErrorClass of [
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  MalformedStreamingHandler,
  InvalidStreamingOperation,
  CallbackHandlerDeprecated,
  NodeJsExit,
  UnhandledPromiseRejection,
]) {
  ErrorClass.prototype.name = `Runtime.${ErrorClass.name}`;
}

function safeString(value) {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function isErrorLike(value) {
  return Boolean(
    value &&
      typeof value.name === 'string' &&
      typeof value.message === 'string' &&
      typeof value.stack === 'string' &&
      value.name &&
      value.message &&
      value.stack,
  );
}

/** The `{errorType, errorMessage, trace}` body the Runtime API receives for a failure. */
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name?.replaceAll('\x7F', '%7F'),
        errorMessage: error.message?.replaceAll('\x7F', '%7F'),
        trace: error.stack.replaceAll('\x7F', '%7F').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

/** Errors as they appear in log lines: a tab, then JSON with the non-enumerable parts. */
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_key, value) => withEnumerableProperties(value));
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

function withEnumerableProperties(error) {
  if (!(error instanceof Error)) return error;
  const result = Object.assign({ errorType: error.name, errorMessage: error.message, code: error.code }, error);
  if (typeof error.stack === 'string') result.stack = error.stack.split('\n');
  return result;
}

function intoError(value) {
  return value instanceof Error ? value : new Error(value);
}

// ---------------------------------------------------------------------------------------
// Logging: console.* becomes `<timestamp>\t<requestId>\t<LEVEL>\t<message>` on stdout
// ---------------------------------------------------------------------------------------

const REQUEST_ID_SYMBOL = Symbol.for('aws.lambda.runtime.requestId');
let currentTenantId;

function setLoggingContext(requestId, tenantId) {
  globalThis[REQUEST_ID_SYMBOL] = requestId;
  currentTenantId = tenantId;
}

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});

function jsonErrorReplacer(_key, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

function formatJsonLine(timestamp, requestId, level, message, params) {
  const record = { timestamp, level: level.name, requestId };
  if (currentTenantId) record.tenantId = currentTenantId;
  if (params.length === 0) {
    record.message = message;
    try {
      return JSON.stringify(record, jsonErrorReplacer);
    } catch {
      record.message = util.format(record.message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(message, ...params);
  for (const param of params) {
    if (param instanceof Error) {
      record.errorType = param?.constructor?.name ?? 'UnknownError';
      record.errorMessage = param.message;
      record.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(record);
}

/** Errors the runtime itself reports (`Invoke Error`, `Uncaught Exception`, ...). */
const structuredConsole = { logError: () => {} };

function patchConsole() {
  const json = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';
  const minimum = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const write = (level, message, params) => {
    const timestamp = new Date().toISOString();
    const requestId = globalThis[REQUEST_ID_SYMBOL];
    const line = json
      ? formatJsonLine(timestamp, requestId, level, message, params)
      : `${timestamp}\t${requestId}\t${level.name}\t${util.format(message, ...params)}`;
    // One record per line: embedded newlines become carriage returns, as in the official
    // client, so a multi-line message (a stack trace) stays one log event.
    process.stdout.write(line.replace(/\n/g, '\r') + '\n');
  };
  const logger = (level) =>
    level.priority >= minimum.priority ? (message, ...params) => write(level, message, params) : () => {};
  console.trace = logger(LEVELS.TRACE);
  console.debug = logger(LEVELS.DEBUG);
  console.info = logger(LEVELS.INFO);
  console.log = console.info;
  console.warn = logger(LEVELS.WARN);
  console.error = logger(LEVELS.ERROR);
  console.fatal = (message, ...params) => write(LEVELS.FATAL, message, params);
  structuredConsole.logError = json
    ? (_message, error) => console.error(intoError(error))
    : (message, error) => console.error(message, toFormatted(intoError(error)));
}

// ---------------------------------------------------------------------------------------
// Runtime API client
// ---------------------------------------------------------------------------------------

class RuntimeApiClient {
  constructor(hostPort) {
    const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(hostPort || '');
    if (!match || !match[1]) {
      throw new Error(`AWS_LAMBDA_RUNTIME_API must be host:port, got '${hostPort ?? ''}'`);
    }
    this.hostname = match[1];
    this.port = Number(match[2]);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** One HTTP exchange; no timeout, since `GET /next` waits as long as it must. */
  request(method, urlPath, body, headers = {}, retried = false) {
    return new Promise((resolve, reject) => {
      const requestHeaders = { ...headers };
      if (body !== undefined) requestHeaders['Content-Length'] = body.length;
      const req = http.request(
        { hostname: this.hostname, port: this.port, path: urlPath, method, headers: requestHeaders, agent: this.agent },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
          res.on('close', () => {
            if (!res.complete) reject(new Error(`the Runtime API closed the connection during ${method} ${urlPath}`));
          });
        },
      );
      req.on('error', (error) => {
        // A kept-alive connection the server closed while idle fails on first use; that
        // request never reached the server, so it is safe to send again once.
        if (!retried && req.reusedSocket && error.code === 'ECONNRESET') {
          resolve(this.request(method, urlPath, body, headers, true));
        } else {
          reject(error);
        }
      });
      req.end(body);
    });
  }

  async nextInvocation() {
    const res = await this.request('GET', `${API_VERSION}/runtime/invocation/next`);
    if (res.status !== 200) {
      throw new Error(`GET /runtime/invocation/next answered HTTP ${res.status}: ${res.body.toString('utf8')}`);
    }
    return { bodyJson: res.body.toString('utf8'), headers: res.headers };
  }

  /** Posts a result: `payload` is a Buffer, sent as is. */
  async postInvocationResponse(id, payload, contentType = 'application/json') {
    const urlPath = `${API_VERSION}/runtime/invocation/${encodeURIComponent(id)}/response`;
    const res = await this.request('POST', urlPath, payload, { 'Content-Type': contentType });
    reportRejected(res, urlPath);
  }

  /**
   * Opens `POST .../response` in streaming mode. The caller writes the body to `req` and
   * ends it; `done` settles with the Runtime API's answer once the whole body was read.
   */
  openStreamingResponse(id, contentType) {
    const urlPath = `${API_VERSION}/runtime/invocation/${encodeURIComponent(id)}/response`;
    let req;
    const done = new Promise((resolve, reject) => {
      req = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          path: urlPath,
          method: 'POST',
          agent: this.agent,
          headers: {
            [RESPONSE_MODE_HEADER]: 'streaming',
            'Content-Type': contentType,
            'Transfer-Encoding': 'chunked',
            Trailer: `${ERROR_TYPE_HEADER}, ${ERROR_BODY_TRAILER}`,
          },
        },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
    return { req, done: done.then((res) => reportRejected(res, urlPath)) };
  }

  async postInvocationError(id, error) {
    const urlPath = `${API_VERSION}/runtime/invocation/${encodeURIComponent(id)}/error`;
    reportRejected(await this.postError(urlPath, error), urlPath);
  }

  async postInitError(error) {
    const urlPath = `${API_VERSION}/runtime/init/error`;
    reportRejected(await this.postError(urlPath, error), urlPath);
  }

  postError(urlPath, error) {
    const response = toRapidResponse(error);
    const headers = { 'Content-Type': 'application/json' };
    if (typeof response.errorType === 'string') headers[ERROR_TYPE_HEADER] = headerSafe(response.errorType);
    return this.request('POST', urlPath, Buffer.from(JSON.stringify(response), 'utf8'), headers);
  }
}

/** Header values must be printable ASCII; anything else is percent-encoded. */
function headerSafe(value) {
  return value.replace(/[^\x20-\x7e]/gu, (ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      return '?';
    }
  });
}

function reportRejected(res, urlPath) {
  if (res.status >= 300) {
    console.error(`The Runtime API refused POST ${urlPath}: HTTP ${res.status} ${res.body.toString('utf8')}`);
  }
}

/** The result as the JSON text the Runtime API receives (`undefined` becomes `null`). */
function serializeResult(result) {
  let text;
  try {
    text = JSON.stringify(result === undefined ? null : result);
  } catch {
    throw new Error('Unable to stringify response body');
  }
  return Buffer.from(text === undefined ? 'null' : text, 'utf8');
}

// ---------------------------------------------------------------------------------------
// Loading the handler named by _HANDLER
// ---------------------------------------------------------------------------------------

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';

/**
 * Loads `<root>/<module>` and returns the function at the property path after it.
 * `lib/app.handler`: module `lib/app`, function `handler`. The module name ends at the first
 * '.' after the last '/', so `lib/mod.nested.fn` is property `nested.fn` of module `lib/mod`.
 */
async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const moduleAndHandler = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(moduleAndHandler));
  const match = /^([^.]*)\.(.*)$/.exec(moduleAndHandler);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, handlerPath] = match;

  const userApp = await loadUserApp(appRoot, moduleRoot, moduleName);
  const find = (root) => handlerPath.split('.').reduce((nested, key) => nested && nested[key], root);
  let handler = find(userApp);
  if (!handler && userApp !== null && typeof userApp === 'object' && 'default' in userApp) {
    handler = find(userApp.default);
  }
  if (!handler) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  return handler;
}

async function loadUserApp(appRoot, moduleRoot, moduleName) {
  try {
    return await tryLoad(appRoot, moduleRoot, moduleName);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserCodeSyntaxError(error);
    if (error && error.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(error);
    throw error;
  }
}

/**
 * The official lookup order: the exact file name (loaded with require); `.js` with require
 * unless the nearest package.json says `"type": "module"`, else with import(); `.mjs` with
 * import(); `.cjs` with require; finally the module name through Node's own resolution
 * (node_modules) from the task root and the module's directory.
 */
async function tryLoad(appRoot, moduleRoot, moduleName) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, moduleName);

  const extensionless = await tryRequireFile(lambdaStylePath, '');
  if (extensionless) return extensionless;

  const typeModule = hasFolderPackageJsonTypeModule(path.dirname(lambdaStylePath));
  if (!typeModule) {
    const loaded = await tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (typeModule && (await tryImportFile(lambdaStylePath, '.js'))) ||
    (await tryImportFile(lambdaStylePath, '.mjs')) ||
    (await tryRequireFile(lambdaStylePath, '.cjs'));
  if (loaded) return loaded;

  const nodeStylePath = require.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] });
  return requireOrImport(nodeStylePath);
}

async function tryRequireFile(file, extension) {
  const fullPath = file + extension;
  return fs.existsSync(fullPath) ? requireOrImport(fullPath) : undefined;
}

async function tryImportFile(file, extension) {
  const fullPath = file + extension;
  return fs.existsSync(fullPath) ? import(pathToFileURL(fullPath).href) : undefined;
}

/**
 * require(), or import() when Node refuses to require the file because it is an ES
 * module (older Node versions) or one with top-level await (any version).
 */
async function requireOrImport(file) {
  try {
    return require(file);
  } catch (error) {
    if (error && (error.code === 'ERR_REQUIRE_ESM' || error.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
      return import(pathToFileURL(file).href);
    }
    throw error;
  }
}

/**
 * Whether the nearest package.json above `folder` declares `"type": "module"`. The search
 * stops at a node_modules directory and at the file system root.
 */
function hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const packageJson = path.join(folder, 'package.json');
  if (fs.existsSync(packageJson)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(packageJson, 'utf8'));
      if (pkg) return pkg.type === 'module';
    } catch (error) {
      console.warn(`${packageJson} cannot be read, it will be ignored for ES module detection purposes.`, error);
      return false;
    }
  }
  const parent = path.dirname(folder);
  return parent === folder ? false : hasFolderPackageJsonTypeModule(parent);
}

function isStreamingHandler(handler) {
  const marker = handler[HANDLER_STREAMING];
  if (marker === undefined || marker === null || marker === false) return false;
  if (marker === STREAM_RESPONSE) return true;
  throw new MalformedStreamingHandler('Only response streaming is supported.');
}

function isAsyncFunction(fn) {
  try {
    return fn.constructor?.name === 'AsyncFunction';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// The `awslambda` global: response streaming helpers
// ---------------------------------------------------------------------------------------

const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

class HttpResponseStream {
  /** Prefixes the stream with the JSON metadata prelude and 8 NUL bytes on first write. */
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}

function setupGlobals() {
  const disabled = ['1', 'true'].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA ?? '');
  if (disabled) return;
  globalThis.awslambda = {
    ...globalThis.awslambda,
    streamifyResponse(handler, options) {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        handler[HANDLER_HIGHWATERMARK] = parseInt(String(options.highWaterMark), 10);
      }
      return handler;
    },
    HttpResponseStream,
  };
}

/**
 * The `responseStream` a streaming handler writes to. The POST to the Runtime API is opened
 * at the first write (or at the end, for an empty response), each chunk is passed to it as
 * it is written, and a write waits while the connection is full. `fail` ends an opened
 * response with the error trailers; `opened()` says whether there is one to end.
 */
function createStreamingResponse(invokeId, highWaterMark) {
  let contentType = 'application/octet-stream';
  let written = false;
  let post;
  let settle;
  const done = new Promise((resolve, reject) => (settle = { resolve, reject }));
  const open = () => {
    if (!post) post = client.openStreamingResponse(invokeId, contentType);
    return post.req;
  };
  const options = {
    write(chunk, _encoding, callback) {
      const req = open();
      if (req.write(chunk)) callback();
      else req.once('drain', () => callback());
    },
    final(callback) {
      open().end();
      callback();
    },
  };
  if (Number.isInteger(highWaterMark)) options.highWaterMark = highWaterMark;
  const stream = new Writable(options);
  const writeRaw = stream.write.bind(stream);
  const endRaw = stream.end.bind(stream);
  const beforeFirstWrite = () => {
    if (!written) {
      written = true;
      if (typeof stream._onBeforeFirstWrite === 'function') stream._onBeforeFirstWrite((chunk) => writeRaw(chunk));
    }
  };
  stream.write = (chunk, encoding, callback) => {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && !(chunk instanceof Uint8Array)) {
      chunk = JSON.stringify(chunk);
    }
    beforeFirstWrite();
    return writeRaw(chunk, encoding, callback);
  };
  stream.end = (chunk, encoding, callback) => {
    if (typeof chunk === 'function') return stream.end(undefined, undefined, chunk);
    if (typeof encoding === 'function') return stream.end(chunk, undefined, encoding);
    if (chunk !== undefined && chunk !== null) stream.write(chunk, encoding);
    beforeFirstWrite();
    return endRaw(callback);
  };
  stream.setContentType = (type) => {
    if (written) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    contentType = type;
  };
  stream.on('finish', () => settle.resolve());
  stream.on('error', (error) => settle.reject(error));
  stream.on('close', () => {
    if (!stream.writableFinished) settle.reject('Response stream is not finished.');
  });
  done.catch(() => {});
  return {
    stream,
    done,
    opened: () => post !== undefined,
    /** Resolves once the Runtime API has read the whole response. */
    completed: () => post.done,
    /** Ends the opened response with the error in its trailers. */
    fail(error) {
      const response = toRapidResponse(error);
      const req = post.req;
      req.addTrailers({
        [ERROR_TYPE_HEADER]: headerSafe(String(response.errorType)),
        [ERROR_BODY_TRAILER]: Buffer.from(JSON.stringify(response), 'utf8').toString('base64'),
      });
      if (!req.writableEnded) req.end();
      return post.done;
    },
  };
}

// ---------------------------------------------------------------------------------------
// The invoke loop
// ---------------------------------------------------------------------------------------

const NO_OP = () => {};
/** Runs when the event loop empties during an invoke (`process.on('beforeExit')`). */
let beforeExitListener = NO_OP;

let client;
let handler;
let handlerMetadata;

/** What an uncaught exception or unhandled rejection does; replaced at each invoke. */
const errorCallbacks = {
  uncaughtException: (error) => exitAfter(client.postInitError(error), 129),
  unhandledRejection: (error) => exitAfter(client.postInitError(error), 128),
};

function exitAfter(promise, code) {
  promise.catch(() => {}).then(() => process.exit(code));
}

function isPromise(value) {
  return Boolean(value && value.then && typeof value.then === 'function');
}

/** Headers of `GET /next` plus the environment: everything the context object exposes. */
function invokeData(headers) {
  const invokeId = headers['lambda-runtime-aws-request-id'];
  if (!invokeId) throw new Error('invocation id is missing or invalid');
  return { invokeId, tenantId: headers['lambda-runtime-aws-tenant-id'], headers };
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`Cannot parse ${name} as json: ${error.toString()}`);
  }
}

/** Adds the environment and invoke data to `base`, and forwards the X-Ray trace id. */
function attachEnvironmentData(base, { headers }) {
  const traceId = headers['lambda-runtime-trace-id'];
  if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;
  const deadline = headers['lambda-runtime-deadline-ms'];
  const data = {
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    tenantId: headers['lambda-runtime-aws-tenant-id'],
  };
  if (CALLBACKLESS_MODEL) data.xRayTraceId = traceId;
  data.getRemainingTimeInMillis = () => deadline - Date.now();
  return Object.assign(base, data);
}

/**
 * The callback handed to the handler and the `callbackWaitsForEmptyEventLoop`, `done`,
 * `succeed` and `fail` members of its context. Only the first call of any of them counts.
 */
function buildCallbackContext(invokeId) {
  const postError = (error, next) => {
    structuredConsole.logError('Invoke Error', error);
    client.postInvocationError(invokeId, error).then(next, onTopLevelError);
  };

  let completed = false;
  const complete = (result, next) => {
    if (completed) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    completed = true;
    let payload;
    try {
      payload = serializeResult(result);
    } catch (error) {
      postError(error, next);
      return;
    }
    client.postInvocationResponse(invokeId, payload).then(next, onTopLevelError);
  };

  let waitForEmptyEventLoop = true;
  const callback = (error, result) => {
    beforeExitListener = NO_OP;
    if (error !== undefined && error !== null) {
      postError(error, scheduleIteration);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleIteration);
    } else {
      beforeExitListener = () => setImmediate(() => complete(result, scheduleIteration));
    }
  };
  const done = (error, result) => {
    beforeExitListener = NO_OP;
    if (error !== undefined && error !== null) postError(error, scheduleIteration);
    else complete(result, scheduleIteration);
  };
  const succeed = (result) => done(null, result);
  const fail = (error) => (error === undefined || error === null ? done('handled') : done(error, null));

  let finished = false;
  const onlyFirstCall =
    (fn) =>
    (...args) => {
      if (finished) return;
      finished = true;
      fn(...args);
    };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: onlyFirstCall(succeed),
    fail: onlyFirstCall(fail),
    done: onlyFirstCall(done),
  };
  const markCompleted = () => {
    completed = true;
  };
  return [onlyFirstCall(callback), context, markCompleted];
}

/** Crashes during this invoke fail it, then end the process (as the official client). */
function setErrorCallbacks(invokeId) {
  errorCallbacks.uncaughtException = (error) => exitAfter(client.postInvocationError(invokeId, error), 129);
  errorCallbacks.unhandledRejection = (error) => exitAfter(client.postInvocationError(invokeId, error), 128);
}

/**
 * If the event loop empties before the handler has answered: an async handler (whose
 * promise can then never settle) fails with Runtime.NodeJsExit; a non-async handler that
 * never called back answers null.
 */
function setDefaultExitListener(invokeId, markCompleted, failIfUnsettled) {
  beforeExitListener = () => {
    beforeExitListener = NO_OP;
    markCompleted();
    if (failIfUnsettled) {
      const error = new NodeJsExit();
      structuredConsole.logError('Invoke Error', error);
      client.postInvocationError(invokeId, error).then(scheduleIteration, onTopLevelError);
    } else {
      client.postInvocationResponse(invokeId, serializeResult(null)).then(scheduleIteration, onTopLevelError);
    }
  };
}

function scheduleIteration() {
  setImmediate(() => {
    const once = handlerMetadata.streaming ? handleOnceStreaming : handleOnce;
    once().catch(onTopLevelError);
  });
}

/** Failures of the runtime itself (the Runtime API went away, ...): report and exit. */
function onTopLevelError(error) {
  console.log(`Unexpected Top Level Error: ${safeString(error)}`);
  errorCallbacks.uncaughtException(error);
}

async function handleOnce() {
  const { bodyJson, headers } = await client.nextInvocation();
  const invoke = invokeData(headers);
  setLoggingContext(invoke.invokeId, invoke.tenantId);

  const [callback, callbackContext, markCompleted] = buildCallbackContext(invoke.invokeId);
  try {
    setErrorCallbacks(invoke.invokeId);
    if (CALLBACKLESS_MODEL) {
      setDefaultExitListener(invoke.invokeId, markCompleted, true);
      const context = attachEnvironmentData({}, invoke);
      const result = handler(JSON.parse(bodyJson), context);
      Promise.resolve(result).then(callbackContext.succeed, callbackContext.fail);
    } else {
      setDefaultExitListener(invoke.invokeId, markCompleted, handlerMetadata.isAsync);
      const context = attachEnvironmentData(callbackContext, invoke);
      const result = handler(JSON.parse(bodyJson), context, callback);
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    }
  } catch (error) {
    callback(error);
  }
}

/** A handler wrapped with awslambda.streamifyResponse: (event, responseStream, context). */
async function handleOnceStreaming() {
  const { bodyJson, headers } = await client.nextInvocation();
  const invoke = invokeData(headers);
  setLoggingContext(invoke.invokeId, invoke.tenantId);
  setErrorCallbacks(invoke.invokeId);

  let settled = false;
  const settle = (post) => {
    if (settled) return;
    settled = true;
    beforeExitListener = NO_OP;
    post().then(scheduleIteration, onTopLevelError);
  };
  let response;
  const fail = (error) =>
    settle(() => {
      structuredConsole.logError('Invoke Error', error);
      if (response?.opened()) return response.fail(error);
      return client.postInvocationError(invoke.invokeId, error);
    });

  let handlerReturned = false;
  beforeExitListener = () => fail(handlerReturned ? 'Response stream is not finished.' : new NodeJsExit());

  try {
    let waitForEmptyEventLoop = true;
    const context = attachEnvironmentData(
      CALLBACKLESS_MODEL
        ? {}
        : {
            get callbackWaitsForEmptyEventLoop() {
              return waitForEmptyEventLoop;
            },
            set callbackWaitsForEmptyEventLoop(value) {
              waitForEmptyEventLoop = value;
            },
          },
      invoke,
    );
    response = createStreamingResponse(invoke.invokeId, handler[HANDLER_HIGHWATERMARK]);
    const result = handler(JSON.parse(bodyJson), response.stream, context);
    if (!isPromise(result)) {
      fail('Streaming does not support non-async handlers.');
      return;
    }
    if ((await result) !== undefined) console.warn('Streaming handlers ignore return values.');
    handlerReturned = true;
    await response.done;
    settle(() => response.completed());
  } catch (error) {
    fail(error);
  }
}

async function main() {
  patchConsole();
  try {
    client = new RuntimeApiClient(process.env.AWS_LAMBDA_RUNTIME_API);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }

  process.on('uncaughtException', (error) => {
    structuredConsole.logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    structuredConsole.logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });
  process.on('beforeExit', () => beforeExitListener());

  try {
    setupGlobals();
    const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
    handler = await loadHandler(appRoot, process.env._HANDLER || '');
    handlerMetadata = {
      streaming: isStreamingHandler(handler),
      isAsync: isAsyncFunction(handler),
      argsNum: handler.length,
    };
    if (CALLBACKLESS_MODEL && handlerMetadata.argsNum >= 3 && !handlerMetadata.streaming) {
      throw new CallbackHandlerDeprecated(CALLBACK_HANDLER_REMOVED);
    }
  } catch (error) {
    // Reported the way the official client reports it: as an uncaught exception during
    // init, posted to /init/error, then exit code 129.
    structuredConsole.logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
    return;
  }
  scheduleIteration();
}

main();

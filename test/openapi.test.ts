import fs from 'node:fs/promises';
import test from 'ava';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { firmwareBytes, sha256 } from './helpers/fixtures.js';
import { request, type RawResponse } from './helpers/http.js';
import { firmwareUpload, multipart } from './helpers/multipart.js';
import { startRegistry } from './helpers/registry-server.js';
import { buildUi } from './helpers/ui-build.js';

buildUi();

type Doc = { paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, unknown>> };
type Operation = { responses: Record<string, ResponseObject> };
type ResponseObject = { $ref?: string; content?: Record<string, { schema?: unknown }> };

const METHODS = ['get', 'head', 'post', 'patch', 'delete', 'put'];

async function loadDoc(): Promise<Doc> {
  return parse(await fs.readFile(new URL('../../api/openapi.yaml', import.meta.url), 'utf8')) as Doc;
}

/** `/firmware/{name}/{version}` ↔ `/firmware/:name/:version`. */
const toRouter = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');

test('openapi: the router and the document name the same routes and methods', async (t) => {
  const doc = await loadDoc();
  const registry = await startRegistry(t);
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((key) => METHODS.includes(key)).map((method) => `${method.toUpperCase()} ${toRouter(path)}`)),
  );
  // The router answers HEAD for every GET by itself; the document lists HEAD where it says more.
  const served = new Set(registry.routes().flatMap(({ path, methods }) => methods.filter((method) => method !== 'HEAD').map((method) => `${method} ${path}`)));
  const documentedWithoutHead = new Set([...documented].filter((operation) => !operation.startsWith('HEAD ')));
  t.deepEqual([...served].filter((operation) => !documentedWithoutHead.has(operation)).sort(), [], 'served but not documented');
  t.deepEqual([...documentedWithoutHead].filter((operation) => !served.has(operation)).sort(), [], 'documented but not served');
  for (const head of [...documented].filter((operation) => operation.startsWith('HEAD '))) {
    t.true(served.has(head.replace('HEAD', 'GET')), `${head} has a GET`);
  }
});

test('openapi: the registry serves its description at /openapi.yaml', async (t) => {
  const registry = await startRegistry(t);
  const answer = await registry.get('/openapi.yaml');
  t.is(answer.status, 200);
  t.deepEqual(parse(answer.body.toString()), await loadDoc());
});

test('openapi: real answers of every route have a documented status and match their schema', async (t) => {
  const doc = await loadDoc();
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  (addFormatsModule as unknown as (ajv: Ajv) => void)(ajv);
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
  const validators = new Map<string, ValidateFunction>();

  const registry = await startRegistry(t, { REGISTRY_TOKENS: 'token', MAX_UPLOAD_BYTES: '1M' });
  const auth = { Authorization: 'Bearer token' };
  const bytes = firmwareBytes(5000);
  const hex = sha256(bytes).slice(7);
  const checked: string[] = [];

  const check = async (template: string, method: string, answer: RawResponse) => {
    const operation = doc.paths[template]?.[method.toLowerCase()];
    const label = `${method} ${template} → ${answer.status}`;
    if (!operation) return t.fail(`${label}: not documented`);
    let response = operation.responses[String(answer.status)];
    if (!response) return t.fail(`${label}: status not documented`);
    if (response.$ref) response = doc.components.responses?.[response.$ref.split('/').pop() ?? ''] as ResponseObject;
    checked.push(label);
    const type = String(answer.headers['content-type'] ?? '').split(';')[0] ?? '';
    if (method === 'HEAD' || answer.body.length === 0 || type !== 'application/json') return;
    const media = Object.keys(response.content ?? {});
    t.true(media.includes('application/json'), `${label}: JSON answer, documented as ${media.join(', ') || 'no body'}`);
    const pointer = `openapi.json#/paths/${template.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/responses/${answer.status}`;
    const schemaRef = operation.responses[String(answer.status)]?.$ref
      ? `openapi.json#/components/responses/${operation.responses[String(answer.status)]?.$ref?.split('/').pop()}/content/application~1json/schema`
      : `${pointer}/content/application~1json/schema`;
    let validate = validators.get(schemaRef);
    if (!validate) validators.set(schemaRef, (validate = ajv.compile({ $ref: schemaRef })));
    if (!validate(answer.json())) t.fail(`${label}: ${ajv.errorsText(validate.errors)} in ${answer.body.toString().slice(0, 200)}`);
  };
  const post = (upload: ReturnType<typeof multipart>, headers: Record<string, string> = auth) => registry.post(upload, headers);
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    request(`${registry.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });

  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '1.0.0', labels: { channel: 'stable' } }, bytes)));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '1.0.0' }, bytes)));
  await check('/firmware', 'POST', await post(multipart([{ name: 'metadata', body: JSON.stringify({ name: 'base', version: '1.1.0', sha256: sha256(bytes) }) }])));
  await check('/firmware', 'POST', await post(multipart([{ name: 'metadata', body: JSON.stringify({ name: 'base', version: '1.2.0', sha256: sha256(firmwareBytes()) }) }])));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '1.0.0' }, firmwareBytes())));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: 'v1' }, bytes)));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '2.0.0', sha256: sha256(firmwareBytes()) }, bytes)));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '2.0.0' }, firmwareBytes(2_000_000))));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '2.0.0' }, bytes), {}));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '2.0.0' }, bytes), { Authorization: 'Bearer nope' }));
  await check('/firmware', 'POST', await call('POST', '/firmware', { 'Content-Type': 'text/plain', ...auth }, 'x'));
  await check('/firmware', 'POST', await post(firmwareUpload({ name: 'base', version: '2.0.0-rc.1', labels: { channel: 'beta' } }, firmwareBytes(3000))));

  await check('/firmware', 'GET', await registry.get('/firmware?label=channel=stable'));
  await check('/firmware', 'GET', await registry.get('/firmware?range=nope'));
  await check('/firmware/{name}/latest', 'GET', await registry.get('/firmware/base/latest'));
  await check('/firmware/{name}/latest', 'GET', await registry.get('/firmware/base/latest?label=channel=none'));
  await check('/updates/{name}', 'GET', await registry.get('/updates/base?current=0.9.0'));
  const update = await registry.get('/updates/base?current=0.9.0');
  await check('/updates/{name}', 'GET', await registry.get('/updates/base?current=0.9.0', { 'If-None-Match': String(update.headers.etag) }));
  await check('/updates/{name}', 'GET', await registry.get('/updates/base?current=9.0.0'));
  await check('/updates/{name}', 'GET', await registry.get('/updates/base?current=nope'));
  await check('/updates/{name}', 'GET', await registry.get('/updates/nothing?current=1.0.0'));

  const version = '/firmware/base/1.0.0';
  const template = '/firmware/{name}/{version}';
  await check(template, 'GET', await registry.get(version));
  await check(template, 'HEAD', await call('HEAD', version));
  await check(template, 'GET', await registry.get(version, { Range: 'bytes=0-9' }));
  await check(template, 'GET', await registry.get(version, { Range: 'bytes=0-9,20-29' }));
  await check(template, 'GET', await registry.get(version, { 'If-None-Match': `"${sha256(bytes)}"` }));
  await check(template, 'GET', await registry.get(version, { 'If-Match': '"nope"' }));
  await check(template, 'GET', await registry.get(version, { Range: 'bytes=9999-' }));
  await check(template, 'GET', await registry.get('/firmware/base/9.9.9'));
  await check(template, 'GET', await registry.get('/firmware/..%2F/1.0.0'));
  await check(template, 'PATCH', await call('PATCH', version, { 'Content-Type': 'application/json', ...auth }, JSON.stringify({ labels: { channel: 'lts' } })));
  await check(template, 'PATCH', await call('PATCH', version, { 'Content-Type': 'application/json', ...auth }, JSON.stringify({ labels: { c: 1 } })));
  await check(template, 'PATCH', await call('PATCH', version, { 'Content-Type': 'text/plain', ...auth }, 'x'));
  await check(template, 'PATCH', await call('PATCH', '/firmware/base/9.9.9', { 'Content-Type': 'application/json', ...auth }, JSON.stringify({ labels: {} })));
  await check(template, 'PATCH', await call('PATCH', version, { 'Content-Type': 'application/json' }, JSON.stringify({ labels: {} })));
  await check(template, 'DELETE', await call('DELETE', '/firmware/base/2.0.0-rc.1', auth));
  await check(template, 'DELETE', await call('DELETE', '/firmware/base/2.0.0-rc.1', auth));
  await check(template, 'DELETE', await call('DELETE', version, { Authorization: 'Bearer nope' }));

  const blob = '/blobs/sha256/{hex}';
  await check(blob, 'GET', await registry.get(`/blobs/sha256/${hex}`));
  await check(blob, 'HEAD', await call('HEAD', `/blobs/sha256/${hex}`));
  await check(blob, 'GET', await registry.get(`/blobs/sha256/${hex}`, { Range: 'bytes=1-2' }));
  await check(blob, 'GET', await registry.get(`/blobs/sha256/${'0'.repeat(64)}`));
  await check(blob, 'GET', await registry.get('/blobs/sha256/nothex'));

  await check('/stats', 'GET', await registry.get('/stats'));
  await check('/health', 'GET', await registry.get('/health'));
  await check('/metrics', 'GET', await registry.get('/metrics'));
  await check('/openapi.yaml', 'GET', await registry.get('/openapi.yaml'));
  await check('/ui/', 'GET', await registry.get('/ui/'));
  await check('/ui', 'GET', await registry.get('/ui'));
  await check('/ui/assets/{file}', 'GET', await registry.get('/ui/assets/main.js'));
  await check('/ui/assets/{file}', 'GET', await registry.get('/ui/assets/nope.js'));
  await check('/gc', 'POST', await call('POST', '/gc?dry_run=true', auth));
  await check('/gc', 'POST', await call('POST', '/gc?dry_run=maybe', auth));
  await check('/gc', 'POST', await call('POST', '/gc'));

  t.log(`${checked.length} answers checked`);
  t.true(checked.length >= 50);
});

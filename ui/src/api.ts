/**
 * The registry's JSON API, as the page uses it. Every URL is relative to the registry's root
 * (the folder above /ui/), so the page also works behind a proxy that adds a path prefix.
 */
export interface FirmwareRecord {
  name: string;
  version: string;
  size: number;
  sha256: string;
  labels: Record<string, string>;
  created_at: string;
}

export interface Stats {
  versions: number;
  blobs: number;
  logical_bytes: number;
  stored_bytes: number;
  saved_bytes: number;
}

export interface Query {
  name?: string;
  version?: string;
  labels?: string[];
  range?: string;
  prerelease?: boolean;
}

/** An answer the registry refused, with its code and message (shown to the user as they are). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export const registryRoot = new URL('../', location.href);

export const apiUrl = (path: string): URL => new URL(path, registryRoot);

export const firmwarePath = (name: string, version: string): string => `firmware/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;

const TOKEN_KEY = 'spore-registry-token';

/** The write token: typed once, kept for this tab only (sessionStorage), never in a URL. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

function writeHeaders(): Record<string, string> {
  const value = token.get();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  return parseAnswer<T>(response.status, text);
}

function parseAnswer<T>(status: number, text: string): T {
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiError(status, 'NOT_JSON', `the registry answered ${status} with something that is not JSON`);
  }
  if (status >= 400) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(status, error?.code ?? `HTTP_${status}`, error?.message ?? `the registry answered ${status}`);
  }
  return body as T;
}

export function listFirmware(query: Query = {}): Promise<FirmwareRecord[]> {
  const url = apiUrl('firmware');
  if (query.name !== undefined) url.searchParams.set('name', query.name);
  if (query.version !== undefined) url.searchParams.set('version', query.version);
  for (const label of query.labels ?? []) url.searchParams.append('label', label);
  if (query.range) url.searchParams.set('range', query.range);
  if (query.prerelease === false) url.searchParams.set('prerelease', 'false');
  return fetch(url).then((response) => answer<FirmwareRecord[]>(response));
}

export const getStats = (): Promise<Stats> => fetch(apiUrl('stats')).then((response) => answer<Stats>(response));

export const getHealth = (): Promise<{ status: string; versions: number }> => fetch(apiUrl('health')).then((response) => answer(response));

export function relabel(name: string, version: string, labels: Record<string, string>): Promise<FirmwareRecord> {
  return fetch(apiUrl(firmwarePath(name, version)), {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', ...writeHeaders() },
    body: JSON.stringify({ labels }),
  }).then((response) => answer<FirmwareRecord>(response));
}

export async function withdraw(name: string, version: string): Promise<void> {
  await fetch(apiUrl(firmwarePath(name, version)), { method: 'DELETE', headers: writeHeaders() }).then((response) => answer(response));
}

export interface Metadata {
  name: string;
  version: string;
  labels: Record<string, string>;
  sha256: string;
  size: number;
}

export type Published = FirmwareRecord & { deduplicated: boolean };

/** Publish by digest: the registry publishes bytes it already holds, or refuses with BLOB_UNKNOWN. */
export function publishByDigest(metadata: Metadata): Promise<Published> {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  return fetch(apiUrl('firmware'), { method: 'POST', headers: writeHeaders(), body: form }).then((response) => answer<Published>(response));
}

/**
 * Uploads the bytes with their declared digest and size, so the registry checks what arrived.
 * XMLHttpRequest, because fetch reports no upload progress.
 */
export function upload(metadata: Metadata, file: File, onProgress: (sent: number, total: number) => void): Promise<Published> {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('firmware', file, file.name || 'firmware.bin');
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', apiUrl('firmware'));
    for (const [header, value] of Object.entries(writeHeaders())) request.setRequestHeader(header, value);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    request.addEventListener('load', () => {
      try {
        resolve(parseAnswer<Published>(request.status, request.responseText));
      } catch (error) {
        reject(error);
      }
    });
    request.addEventListener('error', () => reject(new ApiError(0, 'NETWORK', 'the upload did not reach the registry (network error)')));
    request.send(form);
  });
}

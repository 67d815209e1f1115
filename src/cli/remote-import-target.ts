import { failure, type ClientResponse, type RegistryClient } from './registry-client.js';
import { CliError } from './cli-error.js';
import type { ImportItem, ImportOutcome, ImportTarget } from './import-target.js';
import { publishFile } from './publish-request.js';

interface ErrorBody {
  error?: { code?: string; message?: string; details?: { published?: string; unknown?: string[] } };
}

/**
 * Imports into the running registry (`--url`), with the token of the other commands. Answers
 * about the version itself (409, 413, 422, 400) are its outcome; any other (401, 403, 5xx, no
 * connection) ends the import.
 */
export function remoteImportTarget(client: RegistryClient): ImportTarget {
  return {
    async publish(item: ImportItem): Promise<ImportOutcome> {
      const { name, version, labels, digest, size, createdAt } = item;
      const { answer } = await publishFile(client, { name, version, labels, sha256: digest, size, created_at: createdAt }, item.file);
      if (answer.status === 201) return { kind: 'imported' };
      if (answer.status === 200) return { kind: 'present' };
      const error = errorOf(answer);
      if (answer.status === 409 && error?.code === 'VERSION_EXISTS') return { kind: 'conflict', published: error.details?.published ?? 'other bytes' };
      if (error?.code === 'METADATA_INVALID' && error.details?.unknown?.includes('created_at')) {
        throw new CliError(`import-go: the registry at ${client.base.origin} does not take created_at (an older release): upgrade it, then import`);
      }
      if ([400, 413, 422].includes(answer.status) && error) return { kind: 'refused', reason: `${answer.status} ${error.code}: ${error.message}` };
      throw failure(`import-go: ${name} ${version}`, answer);
    },
    close: async () => {},
  };
}

function errorOf(answer: ClientResponse): ErrorBody['error'] {
  try {
    return (JSON.parse(answer.body.toString('utf8')) as ErrorBody).error;
  } catch {
    return undefined;
  }
}

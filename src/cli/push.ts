import { CliError } from './cli-error.js';
import { fileProblem } from './file-problem.js';
import { hashFile } from './hash-file.js';
import { progressBar } from './progress.js';
import { publishFile } from './publish-request.js';
import { failure, type RegistryClient } from './registry-client.js';

export interface PushOptions {
  name: string;
  version: string;
  labels: Record<string, string>;
}

/**
 * Publishes a file:
 *   1. hash it here, so the registry can check what arrives, and so that
 *   2. bytes the registry already holds are published by digest, without sending them;
 *   3. otherwise upload them (multipart, with a progress bar), declaring digest and size.
 * Prints one line: what was published, and whether it took any new space.
 */
export async function push(client: RegistryClient, file: string, options: PushOptions, print: (line: string) => void): Promise<void> {
  const what = `push ${options.name} ${options.version}`;
  let hashed: Awaited<ReturnType<typeof hashFile>>;
  try {
    hashed = await hashFile(file);
  } catch (error) {
    throw new CliError(`${what}: cannot read ${file}: ${fileProblem(error)}`);
  }
  const metadata = { name: options.name, version: options.version, labels: options.labels, sha256: hashed.digest, size: hashed.size };
  const { answer, uploaded } = await publishFile(client, metadata, file, (size) => progressBar('upload', size));
  if (answer.status !== 201 && answer.status !== 200) throw failure(what, answer);
  const record = JSON.parse(answer.body.toString()) as { name: string; version: string; size: number; sha256: string; deduplicated: boolean };
  const outcome = answer.status === 200 ? 'already published' : 'published';
  const how = uploaded ? 'uploaded' : 'by digest, no bytes sent';
  print(`${outcome} ${record.name} ${record.version} ${record.sha256} ${record.size} bytes (${how}${record.deduplicated ? ', no new space' : ''})`);
}

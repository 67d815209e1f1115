import type { RecordJson } from '../http/record-json.js';
import { failure, type RegistryClient } from './registry-client.js';

export interface LsOptions {
  name?: string;
  labels: string[];
  range?: string;
  prerelease?: boolean;
  json?: boolean;
}

/** Lists published firmware, filtered as `GET /firmware` filters, as a table (or JSON). */
export async function ls(client: RegistryClient, options: LsOptions, print: (line: string) => void): Promise<void> {
  const query = new URLSearchParams();
  if (options.name) query.set('name', options.name);
  for (const label of options.labels) query.append('label', label);
  if (options.range) query.set('range', options.range);
  if (options.prerelease !== undefined) query.set('prerelease', String(options.prerelease));
  const answer = await client.send({ method: 'GET', path: `/firmware?${query}` });
  if (answer.status !== 200) throw failure('ls', answer);
  const rows = JSON.parse(answer.body.toString()) as RecordJson[];
  if (options.json) return print(JSON.stringify(rows, null, 2));
  const table = [
    ['NAME', 'VERSION', 'SIZE', 'SHA256', 'CREATED', 'LABELS'],
    ...rows.map((row) => [
      row.name,
      row.version,
      String(row.size),
      row.sha256.slice(7, 19),
      row.created_at.slice(0, 19).replace('T', ' '),
      Object.entries(row.labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(','),
    ]),
  ];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of table) print(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

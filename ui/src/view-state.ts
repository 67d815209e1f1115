/**
 * What the page shows, read from and written to its own URL (/ui/?name=base&label=channel%3Dstable),
 * so that any view can be shared as a link and the back button works.
 */
export type ViewState =
  | { view: 'names'; search: string }
  | { view: 'versions'; name: string; labels: string[]; range: string; prerelease: boolean }
  | { view: 'version'; name: string; version: string }
  | { view: 'upload'; name: string };

export function readState(search: string): ViewState {
  const params = new URLSearchParams(search);
  const name = params.get('name') ?? '';
  if (params.has('upload')) return { view: 'upload', name };
  const version = params.get('version');
  if (name && version) return { view: 'version', name, version };
  if (name) return { view: 'versions', name, labels: params.getAll('label'), range: params.get('range') ?? '', prerelease: params.get('prerelease') !== 'false' };
  return { view: 'names', search: params.get('q') ?? '' };
}

/** The query string for a state, `?…`, or '' for the first view. */
export function writeState(state: ViewState): string {
  const params = new URLSearchParams();
  switch (state.view) {
    case 'names':
      if (state.search) params.set('q', state.search);
      break;
    case 'versions':
      params.set('name', state.name);
      for (const label of state.labels) params.append('label', label);
      if (state.range) params.set('range', state.range);
      if (!state.prerelease) params.set('prerelease', 'false');
      break;
    case 'version':
      params.set('name', state.name);
      params.set('version', state.version);
      break;
    case 'upload':
      params.set('upload', '');
      if (state.name) params.set('name', state.name);
      break;
  }
  const query = params.toString();
  return query ? `?${query}` : '';
}

export const versionsOf = (name: string): ViewState => ({ view: 'versions', name, labels: [], range: '', prerelease: true });

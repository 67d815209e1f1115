import { RegistryError } from '../errors.js';
import { describe } from './identifiers.js';

export type Labels = Record<string, string>;

export const MAX_LABELS = 64;
export const MAX_LABEL_VALUE_LENGTH = 256;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

export function isLabelKey(key: string): boolean {
  return LABEL_KEY.test(key);
}

/**
 * Labels are a flat JSON object of string to string (SPEC §1). The result is a fresh object
 * with its keys sorted, so equal label sets serialise to equal text.
 */
export function checkLabels(value: unknown): Labels {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw labelsInvalid('labels must be a JSON object of string keys to string values', value);
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_LABELS) {
    throw labelsInvalid(`at most ${MAX_LABELS} labels are allowed`, entries.length);
  }
  const labels: Labels = {};
  for (const [key, label] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!LABEL_KEY.test(key)) {
      throw labelsInvalid(
        'a label key is 1-63 characters of letters, digits, ".", "_", "/" and "-", starting with a letter or digit',
        key,
      );
    }
    if (typeof label !== 'string') {
      throw labelsInvalid(`the value of label "${key}" must be a string`, label);
    }
    if (label.length > MAX_LABEL_VALUE_LENGTH) {
      throw labelsInvalid(`the value of label "${key}" is longer than ${MAX_LABEL_VALUE_LENGTH} characters`, label);
    }
    labels[key] = label;
  }
  return labels;
}

function labelsInvalid(message: string, value: unknown): RegistryError {
  return new RegistryError('LABELS_INVALID', message, { value: describe(value) });
}

import { isErrnoCode } from '../errors.js';

/**
 * Why a file could not be used, in words, from a Node fs error: the one-line failures of the
 * command line say this instead of `ENOENT: no such file or directory, open 'x'` and a stack.
 */
export function fileProblem(error: unknown): string {
  if (isErrnoCode(error, 'ENOENT')) return 'no such file';
  if (isErrnoCode(error, 'EACCES', 'EPERM')) return 'permission denied';
  if (isErrnoCode(error, 'EISDIR')) return 'it is a folder';
  if (isErrnoCode(error, 'ENOTDIR')) return 'a part of the path is not a folder';
  if (isErrnoCode(error, 'ENOSPC')) return 'the disk is full';
  if (isErrnoCode(error, 'EROFS')) return 'the file system is read-only';
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

import { copyFile, lstat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { constants } from 'node:fs';
import { usageError } from '../errors.ts';
import type { Template } from './catalogue.ts';
import { makeDirectory } from '../state/make-dir.ts';

export interface WriteResult {
  /** The target directory, absolute. */
  dir: string;
  /** The files written, relative to `dir`. */
  files: string[];
  /** Those among them that replaced an existing file (only with `force`). */
  replaced: string[];
}

async function kindOf(path: string): Promise<'missing' | 'file' | 'other'> {
  try {
    return (await lstat(path)).isFile() ? 'file' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === undefined) throw error;
    throw usageError('init.template-target', `Cannot write into ${path} (${code}).`, 'Give a new or existing directory to write the template into.', error);
  }
}

function listed(paths: string[]): string {
  return paths.length <= 5 ? paths.join(', ') : `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more`;
}

/**
 * Copies a template into `dir` (created when missing). Existing files are refused, all of them named,
 * before anything is written, unless `force`; something that is not a regular file where a template
 * file goes is refused even then.
 */
export async function writeTemplate(template: Template, dir: string, options: { force: boolean }): Promise<WriteResult> {
  const target = resolve(dir);
  if ((await kindOf(target)) === 'file') {
    throw usageError('init.template-target', `${dir} is a file, not a directory.`, 'Give a new or existing directory to write the template into.');
  }
  const existing: string[] = [];
  const blocked: string[] = [];
  for (const file of template.files) {
    const kind = await kindOf(join(target, file));
    if (kind === 'file') existing.push(file);
    else if (kind === 'other') blocked.push(file);
  }
  if (blocked.length > 0) {
    throw usageError('init.template-blocked', `In ${dir}, ${listed(blocked)} ${blocked.length === 1 ? 'is' : 'are'} not a regular file.`, 'Move it away, or write the template into another directory.');
  }
  if (existing.length > 0 && !options.force) {
    throw usageError(
      'init.template-exists',
      `${dir} already has ${listed(existing)}; nothing was written.`,
      'Write into another directory, or pass --force to overwrite those files.',
    );
  }

  for (const file of template.files) {
    const destination = join(target, file);
    try {
      makeDirectory(dirname(destination), 0o777);
      // Without --force, COPYFILE_EXCL refuses a file that appeared since the check above.
      await copyFile(join(template.source, file), destination, options.force ? 0 : constants.COPYFILE_EXCL);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw usageError('init.template-exists', `${join(dir, file)} appeared while the template was being written.`, 'Check the directory, then run the command again (with --force to overwrite).', error);
      }
      if (code === undefined) throw error;
      throw usageError('init.template-unwritable', `Cannot write ${join(dir, file)} (${code}).`, 'Give a directory you can write to.', error);
    }
  }
  return { dir: target, files: [...template.files], replaced: options.force ? existing : [] };
}

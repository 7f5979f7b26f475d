/**
 * What the import plugin tests share: a staging directory laid out as the import service lays
 * it out (`<staging>/<image id>`, temp files in `<staging>/.tmp`), a plugin context, and a
 * wrapper around a tool that records every invocation, so a test can prove a tool never ran.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Image } from '../../src/domain/image.js';
import { makeImage } from '../persistence/sqlite-fixture.js';
import type { ImportPluginContext } from '../../src/domain/ports.js';

export interface Staging {
  readonly dir: string;
  readonly tempDir: string;
  /** Writes staged data for a new image and returns its context. */
  stage(data: Buffer, image?: Partial<Image>, extra?: Partial<ImportPluginContext>): ImportPluginContext;
  /** Names of files left in the temp directory. */
  leftovers(): string[];
}

let counter = 0;

/** A fresh staging directory, removed after the test. */
export function staging(t: { after: (fn: () => void) => void }): Staging {
  const root = mkdtempSync(join(tmpdir(), 'iris-plugins-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'staging');
  mkdirSync(dir);
  const tempDir = join(dir, '.tmp');
  return {
    dir,
    tempDir,
    stage(data, image = {}, extra = {}) {
      counter += 1;
      const imageId = `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
      const stagedPath = join(dir, imageId);
      writeFileSync(stagedPath, data);
      return {
        imageId,
        image: testImage({ id: imageId, ...image }),
        stagedPath,
        tempDir,
        roles: ['member'],
        signal: new AbortController().signal,
        ...extra,
      };
    },
    leftovers: () => (existsSync(tempDir) ? readdirSync(tempDir) : []),
  };
}

/** An image being imported (raw/bare, status importing), built on the persistence fixture's. */
export function testImage(over: Partial<Image> & { id: string }): Image {
  return makeImage({ name: 'test', status: 'importing', disk_format: 'raw', container_format: 'bare', ...over });
}

export interface RecordingTool {
  /** The wrapper to run instead of the tool. */
  readonly path: string;
  /** Each invocation's arguments, one array per run. */
  calls(): string[][];
}

/**
 * A shell wrapper that logs its arguments and then runs `real`. `hook` is shell code run
 * first, with the arguments in "$@" (e.g. to sleep or fail on `convert`).
 */
export function recordingTool(t: { after: (fn: () => void) => void }, real: string, hook = ''): RecordingTool {
  const dir = mkdtempSync(join(tmpdir(), 'iris-tool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.log');
  const path = join(dir, 'tool');
  writeFileSync(
    path,
    ['#!/bin/sh', `printf '%s\\037' "$@" >> '${log}'`, `printf '\\n' >> '${log}'`, hook, `exec '${real}' "$@"`, ''].join('\n'),
  );
  chmodSync(path, 0o755);
  return {
    path,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => line.split('\x1f').slice(0, -1))
        : [],
  };
}

// The message board's web page: a few plain files from web/messages/, read once when the routes are registered
// and served from memory with an ETag, so that nothing under the directory but the listed files is ever reachable.

import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** web/messages/ in the repository, found from this file's place in src/apps/messages/. */
export const DEFAULT_WEB_DIR = new URL("../../../web/messages/", import.meta.url);
/** A page file larger than this is a mistake (a build artefact dropped in the wrong place), not a page. */
export const WEB_FILE_BYTES_MAX = 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface WebFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

function contentTypeOf(fileName: string): string {
  const extension = fileName.slice(fileName.lastIndexOf("."));
  const type = CONTENT_TYPES[extension];
  if (type === undefined) throw new Error(`web file ${fileName} has an extension the board does not serve`);
  return type;
}

/** Reads the named files of the web directory; throws naming the file that is missing or too large. */
export async function loadWebFiles(
  directory: string | URL,
  fileNames: readonly string[],
): Promise<Map<string, WebFile>> {
  const root = directory instanceof URL ? fileURLToPath(directory) : directory;
  const files = new Map<string, WebFile>();
  for (const fileName of fileNames) {
    const path = join(root, fileName);
    const { size } = await stat(path).catch((error: unknown) => {
      throw new Error(`the message board's page file ${path} cannot be read: ${String(error)}`, { cause: error });
    });
    if (size > WEB_FILE_BYTES_MAX) throw new Error(`web file ${path} is ${size} bytes, over ${WEB_FILE_BYTES_MAX}`);
    const body = await readFile(path);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    files.set(fileName, { body, contentType: contentTypeOf(fileName), etag });
  }
  return files;
}

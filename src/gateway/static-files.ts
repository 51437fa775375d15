// An app's web page: a few plain files from its folder under web/, read once when the routes are registered and
// served from memory with an ETag, so that nothing under the folder but the listed files is ever reachable.

import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

/** The repository's web/ folder, found from this file's place in src/gateway/ (and dist/src/gateway/). */
const WEB_ROOT = new URL("../../web/", import.meta.url);

/** The folder of one page under web/, e.g. webDirectory("orders"). */
export function webDirectory(name: string): URL {
  return new URL(`${name}/`, WEB_ROOT);
}
/** A page file larger than this is a mistake (a build artefact dropped in the wrong place), not a page. */
export const WEB_FILE_BYTES_MAX = 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".woff2": "font/woff2",
};

export interface WebFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

function contentTypeOf(fileName: string): string {
  const extension = fileName.slice(fileName.lastIndexOf("."));
  const type = CONTENT_TYPES[extension];
  if (type === undefined) throw new Error(`web file ${fileName} has an extension the gateway does not serve`);
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
      throw new Error(`the page file ${path} cannot be read: ${String(error)}`, { cause: error });
    });
    if (size > WEB_FILE_BYTES_MAX) throw new Error(`web file ${path} is ${size} bytes, over ${WEB_FILE_BYTES_MAX}`);
    const body = await readFile(path);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    files.set(fileName, { body, contentType: contentTypeOf(fileName), etag });
  }
  return files;
}

/**
 * Routes that serve page files: each path maps to a file of the directory, read when the routes are registered.
 * Browsers revalidate (no-cache) and get 304 while the file is unchanged.
 */
export function webPage(directory: string | URL, routes: Readonly<Record<string, string>>): FastifyPluginAsync {
  return async (app) => {
    const files = await loadWebFiles(directory, [...new Set(Object.values(routes))]);
    for (const [path, fileName] of Object.entries(routes)) {
      const file = files.get(fileName) as WebFile;
      app.get(path, async (request: FastifyRequest, reply: FastifyReply) => {
        reply.header("etag", file.etag).header("cache-control", "no-cache");
        if (request.headers["if-none-match"] === file.etag) return reply.status(304).send();
        return reply.type(file.contentType).send(file.body);
      });
    }
  };
}

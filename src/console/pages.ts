// The console's page: one HTML file for every view's URL (the page routes in the browser), its scripts and styles
// from web/console/, and the chart library from node_modules, all read once and served from memory.

import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { loadWebFiles, webDirectory, type WebFile } from "../gateway/static-files.js";
import { notFound } from "./errors.js";

const ASSET_PATTERN = /\.(js|css|svg)$/;

function send(request: FastifyRequest, reply: FastifyReply, file: WebFile): FastifyReply {
  reply.header("etag", file.etag).header("cache-control", "no-cache");
  if (request.headers["if-none-match"] === file.etag) return reply.status(304).send();
  return reply.type(file.contentType).send(file.body);
}

/** uPlot's ES module and stylesheet, from wherever npm put the package. */
function chartLibraryDirectory(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("uplot"));
}

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const directory = webDirectory("console");
  const assetNames = readdirSync(fileURLToPath(directory)).filter((name) => ASSET_PATTERN.test(name));
  const assets = await loadWebFiles(directory, assetNames);
  const [page] = (await loadWebFiles(directory, ["index.html"])).values();
  const vendor = await loadWebFiles(chartLibraryDirectory(), ["uPlot.esm.js", "uPlot.min.css"]);

  app.get("/assets/:file", async (request, reply) => {
    const file = assets.get((request.params as { file: string }).file);
    if (file === undefined) throw notFound("there is no such console asset");
    return send(request, reply, file);
  });
  app.get("/vendor/:file", async (request, reply) => {
    const file = vendor.get((request.params as { file: string }).file);
    if (file === undefined) throw notFound("there is no such console asset");
    return send(request, reply, file);
  });
  const index = async (request: FastifyRequest, reply: FastifyReply) => send(request, reply, page!);
  app.get("/", index);
  app.get("/*", index);
}

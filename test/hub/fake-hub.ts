// A loopback server that answers like the Hugging Face Hub, for the pull tests. It answers
// exactly the requests the official client makes, as read in @huggingface/hub 2.17.5
// (node_modules/@huggingface/hub/src/lib/…):
//
// - model-info.ts      GET  /api/models/{org}/{name}/revision/{rev}?expand=…   → JSON with `sha`
// - list-files.ts      GET  /api/models/{org}/{name}/tree/{rev}?recursive=…    → JSON entries
//                      {type, oid, size, path, lfs: {oid: sha256, size, pointerSize}}
// - paths-info.ts      POST /api/models/{org}/{name}/paths-info/{rev}          → the same entries
// - file-download-info.ts / utils/WebBlob.ts
//                      GET  /{org}/{name}/resolve/{rev}/{path}, `Range: bytes=0-0` probe then
//                      ranged GETs; the size from Content-Range, the ETag from X-Linked-ETag/ETag
// and what Python's huggingface_hub reads (file_download.py: get_hf_file_metadata, http_get):
// HEAD on the resolve URL with X-Repo-Commit, X-Linked-Etag, X-Linked-Size; LFS files answered
// by a 302 to a CDN-like path (/cdn/<sha256>) that serves the bytes with Range support; small
// files answered directly with `ETag: "<git blob sha1>"`. Errors as the Hub gives them: JSON
// `{"error"}` with X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo),
// 401 for a gated repo without a valid token.
//
// Faults for the tests: drop the connection after N bytes of a file, serve a file with one
// byte changed (wrong checksum), serve a file slowly. Every request is logged.
import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, sep } from "node:path";

export interface FakeFile {
  path: string;
  size: number;
  /** Bytes for small files; a disk path for large ones. */
  bytes?: Buffer;
  diskPath?: string;
  lfs: boolean;
  /** sha256 of the content (LFS) — the blob name Python uses. */
  sha256: string;
  /** git blob sha1 of what git stores: the content (small files) or the LFS pointer. */
  gitOid: string;
  pointerSize: number;
}

export interface FakeRepo {
  repo: string;
  commit: string;
  files: Map<string, FakeFile>;
  /** Files need `Authorization: Bearer <token>` (401 without). */
  gated?: boolean;
}

export interface RequestLog {
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  status?: number;
  /** Body bytes sent (content requests). */
  sent?: number;
}

export interface Faults {
  /** Close the connection after this many body bytes of this file, this many times. */
  drop?: { path: string; afterBytes: number; times: number };
  /** Serve this file with one byte changed in the middle (the checksum no longer matches). */
  corrupt?: string;
  /** Serve this file at about this many bytes per second. */
  slow?: { path: string; bytesPerSecond: number };
}

export interface FakeHub {
  url: string;
  requests: RequestLog[];
  faults: Faults;
  close(): Promise<void>;
}

const LFS_MIN_BYTES = 10 * 1024 * 1024;
const LFS_SUFFIXES = [".safetensors", ".model", ".pkl", ".bin"];

const gitBlobSha1 = (content: Buffer): string =>
  createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");

function sha256File(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/**
 * A repo serving the files of `dir` (LFS for weights and tokenizer, as on the Hub) plus `extra`
 * files (e.g. modeling code and pickles that pull must never request).
 */
export function repoFromFolder(
  repo: string,
  dir: string,
  extra: Record<string, string | Buffer> = {},
  opts: { gated?: boolean; commit?: string } = {},
): FakeRepo {
  const files = new Map<string, FakeFile>();
  const add = (path: string, content: { bytes?: Buffer; diskPath?: string }): void => {
    const size = content.bytes ? content.bytes.length : statSync(content.diskPath!).size;
    const lfs = LFS_SUFFIXES.some((s) => path.endsWith(s)) || size >= LFS_MIN_BYTES;
    const sha256 = content.bytes
      ? createHash("sha256").update(content.bytes).digest("hex")
      : sha256File(content.diskPath!);
    const pointer = Buffer.from(
      `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`,
    );
    const small = lfs ? undefined : (content.bytes ?? readFileSync(content.diskPath!));
    files.set(path, {
      path,
      size,
      ...content,
      lfs,
      sha256,
      gitOid: gitBlobSha1(lfs ? pointer : small!),
      pointerSize: pointer.length,
    });
  };
  for (const p of walk(dir)) add(relative(dir, p).split(sep).join("/"), { diskPath: p });
  for (const [p, c] of Object.entries(extra)) add(p, { bytes: Buffer.from(c) });
  add(".gitattributes", { bytes: Buffer.from("*.safetensors filter=lfs diff=lfs merge=lfs -text\n") });
  const commit =
    opts.commit ??
    createHash("sha1")
      .update([...files.values()].map((f) => `${f.path}:${f.gitOid}`).join("\n"))
      .digest("hex");
  return { repo, commit, files, gated: opts.gated };
}

function treeEntries(r: FakeRepo): object[] {
  const dirs = new Set<string>();
  for (const p of r.files.keys()) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return [
    ...[...dirs]
      .sort()
      .map((d) => ({ type: "directory", oid: gitBlobSha1(Buffer.from(d)), size: 0, path: d })),
    ...[...r.files.values()]
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((f) => ({
        type: "file",
        oid: f.gitOid,
        size: f.size,
        path: f.path,
        ...(f.lfs ? { lfs: { oid: f.sha256, size: f.size, pointerSize: f.pointerSize } } : {}),
      })),
  ];
}

export async function startFakeHub(repos: FakeRepo[], opts: { token?: string } = {}): Promise<FakeHub> {
  const byName = new Map(repos.map((r) => [r.repo, r]));
  const bySha = new Map<string, FakeFile>();
  for (const r of repos) for (const f of r.files.values()) if (f.lfs) bySha.set(f.sha256, f);
  const requests: RequestLog[] = [];
  const faults: Faults = {};
  let base = "";

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    json(res, status, { error: message }, { "X-Error-Code": code, "X-Error-Message": message });

  const revisionOk = (r: FakeRepo, rev: string) => rev === "main" || rev === r.commit;
  const authorized = (r: FakeRepo, req: IncomingMessage) =>
    !r.gated || (opts.token !== undefined && req.headers.authorization === `Bearer ${opts.token}`);

  /** Sends a file's bytes (or a range of them) with the faults that apply. */
  const sendContent = (
    req: IncomingMessage,
    res: ServerResponse,
    f: FakeFile,
    headers: Record<string, string>,
    log: RequestLog,
  ) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
    const start = m ? Number(m[1]) : 0;
    const end = m?.[2] ? Math.min(Number(m[2]), f.size - 1) : f.size - 1;
    if (m && start >= f.size) {
      res.writeHead(416, { "Content-Range": `bytes */${f.size}` });
      res.end();
      return;
    }
    const length = end - start + 1;
    res.writeHead(m ? 206 : 200, {
      ...headers,
      "Accept-Ranges": "bytes",
      "Content-Length": String(length),
      ...(m ? { "Content-Range": `bytes ${start}-${end}/${f.size}` } : {}),
      "Content-Type": "application/octet-stream",
    });
    log.status = m ? 206 : 200;
    if (req.method === "HEAD") return void res.end();
    const probe = length === 1;
    const drop = !probe && faults.drop?.path === f.path && faults.drop.times > 0 ? faults.drop : undefined;
    if (drop) drop.times--;
    const slow = !probe && faults.slow?.path === f.path ? faults.slow : undefined;
    const corruptAt = faults.corrupt === f.path ? Math.floor(f.size / 2) : -1;
    const source = f.bytes
      ? (async function* () {
          yield f.bytes!.subarray(start, end + 1);
        })()
      : createReadStream(f.diskPath!, { start, end, highWaterMark: 256 * 1024 });
    let pos = start;
    log.sent = 0;
    (async () => {
      for await (const raw of source as AsyncIterable<Buffer>) {
        let chunk = raw;
        if (corruptAt >= pos && corruptAt < pos + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[corruptAt - pos] ^= 0xff;
        }
        if (drop && log.sent! + chunk.length >= drop.afterBytes) {
          const n = drop.afterBytes - log.sent!;
          await new Promise<void>((r) => res.write(chunk.subarray(0, n), () => r()));
          log.sent! += n;
          res.socket?.end(); // a clean close before the end of the body: the client keeps every byte sent
          return;
        }
        if (slow) {
          for (let off = 0; off < chunk.length; off += 16384) {
            if (res.destroyed) return;
            const piece = chunk.subarray(off, off + 16384);
            if (!res.write(piece)) await new Promise((r) => res.once("drain", r));
            log.sent! += piece.length;
            await new Promise((r) => setTimeout(r, (1000 * piece.length) / slow.bytesPerSecond));
          }
        } else {
          if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
          log.sent! += chunk.length;
        }
        pos += raw.length;
        if (res.destroyed) return;
      }
      res.end();
    })().catch(() => res.destroy());
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", base);
    const log: RequestLog = {
      method: req.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      range: req.headers.range as string | undefined,
      authorization: req.headers.authorization,
    };
    requests.push(log);
    res.on("finish", () => (log.status ??= res.statusCode));
    const p = url.pathname.split("/").map(decodeURIComponent);
    // p[0] is "" (leading slash)
    if (p[1] === "api" && p[2] === "models") {
      const r = byName.get(`${p[3]}/${p[4]}`);
      if (!r) return error(res, 404, "RepoNotFound", "Repository not found");
      const rev = p[6] ?? "main";
      if (p[5] === "revision") {
        if (!revisionOk(r, rev)) return error(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
        return json(res, 200, {
          _id: `fake-${r.commit.slice(0, 24)}`,
          id: r.repo,
          sha: r.commit,
          private: false,
          gated: r.gated ? "auto" : false,
          downloads: 0,
          likes: 0,
          lastModified: "2025-01-16T00:00:00.000Z",
          pipeline_tag: "text-generation",
          siblings: [...r.files.keys()].map((rfilename) => ({ rfilename })),
        });
      }
      if (p[5] === "tree") {
        if (!revisionOk(r, rev)) return error(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
        return json(res, 200, treeEntries(r));
      }
      if (p[5] === "paths-info" && req.method === "POST") {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          const wanted = new Set((JSON.parse(body || "{}") as { paths?: string[] }).paths ?? []);
          json(
            res,
            200,
            treeEntries(r).filter((e) => wanted.has((e as { path: string }).path)),
          );
        });
        return;
      }
      return error(res, 404, "NotFound", "Not found");
    }
    if (p[1] === "cdn") {
      const f = bySha.get(p[2] ?? "");
      if (!f) return error(res, 404, "NoSuchKey", "The specified key does not exist.");
      return sendContent(req, res, f, { ETag: `"${createHash("md5").update(f.sha256).digest("hex")}"` }, log);
    }
    if (p[3] === "resolve") {
      const r = byName.get(`${p[1]}/${p[2]}`);
      if (!r) return error(res, 404, "RepoNotFound", "Repository not found");
      const rev = p[4] ?? "";
      if (!revisionOk(r, rev)) return error(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
      if (!authorized(r, req))
        return error(
          res,
          401,
          "GatedRepo",
          `Access to model ${r.repo} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
      const f = r.files.get(p.slice(5).join("/"));
      if (!f) return error(res, 404, "EntryNotFound", "Entry not found");
      const common = { "X-Repo-Commit": r.commit };
      if (f.lfs) {
        res.writeHead(302, {
          ...common,
          Location: `${base}/cdn/${f.sha256}?X-Amz-Expires=3600`,
          "X-Linked-Size": String(f.size),
          "X-Linked-ETag": `"${f.sha256}"`,
          ETag: `"${f.gitOid}"`,
          "Content-Length": "0",
        });
        return void res.end();
      }
      return sendContent(req, res, f, { ...common, ETag: `"${f.gitOid}"` }, log);
    }
    error(res, 404, "NotFound", "Not found");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    faults,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
